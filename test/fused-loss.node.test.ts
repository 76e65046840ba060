/**
 * The fused-loss matrix (test/suites/fused-loss.ts) and the third wave's cases
 * (test/suites/third-wave.ts: supcon, siglip) in this Node process on Dawn (npm `webgpu`). One
 * file, so both share one compiled dispatcher (compiling the kernels takes tens of seconds on
 * SwiftShader).
 */
import { fusedLossSuite } from './suites/fused-loss.js';
import { thirdWaveSuite } from './suites/third-wave.js';

fusedLossSuite('node');
thirdWaveSuite('node');
