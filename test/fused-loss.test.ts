/** The fused-loss matrix (test/suites/fused-loss.ts) in headless Chromium's WebGPU. */
import { fusedLossSuite } from './suites/fused-loss.js';

fusedLossSuite('chromium');
