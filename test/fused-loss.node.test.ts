/**
 * The fused-loss matrix (test/suites/fused-loss.ts) in this Node process on Dawn (npm `webgpu`),
 * over a subset of the (N, D) pairs that keeps the edges: N = 2, a non-multiple of the tiles,
 * a split candidate axis (N = 257); D = 1, an odd width, 128.
 */
import { fusedLossSuite } from './suites/fused-loss.js';

fusedLossSuite('node', { ns: [2, 31, 257], ds: [1, 33, 128] });
