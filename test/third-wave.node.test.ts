/** MATH.md's third wave (supcon, siglip) on the GPU in this Node process on Dawn (test/suites/third-wave.ts). */
import { thirdWaveSuite } from './suites/third-wave.js';

thirdWaveSuite('node');
