/** MATH.md's third wave (supcon, siglip) on the GPU in headless Chromium (test/suites/third-wave.ts). */
import { thirdWaveSuite } from './suites/third-wave.js';

thirdWaveSuite('chromium');
