/** The fused-loss matrix (test/suites/fused-loss.ts) in this Node process on Dawn (npm `webgpu`). */
import { fusedLossSuite } from './suites/fused-loss.js';

fusedLossSuite('node');
