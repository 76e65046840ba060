/**
 * The fused-loss matrix (test/suites/fused-loss.ts) in this Node process on Dawn (npm `webgpu`),
 * over a subset of the (N, D) pairs that keeps the edges: N = 2, a non-multiple of the tiles,
 * a split candidate axis (N = 257); D = 1, an odd width, 128; and the third wave's cases
 * (test/suites/third-wave.ts: supcon, siglip). One file, so both share one compiled dispatcher
 * (compiling the kernels takes tens of seconds on SwiftShader).
 */
import { fusedLossSuite } from './suites/fused-loss.js';
import { thirdWaveSuite } from './suites/third-wave.js';

fusedLossSuite('node', { ns: [2, 31, 257], ds: [1, 33, 128] });
thirdWaveSuite('node');
