import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Node-on-Dawn tests (npm `webgpu`): the Vulkan loader reads these at process start, so they are
// set here, before the forked workers spawn (SwiftShader's ICD ships with Chromium).
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  process.env.LD_LIBRARY_PATH ??= '/usr/lib/chromium';
}

// One Chromium for the whole run (global setup); WebGPU on SwiftShader is slow, hence the timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
