import { defineConfig } from 'vitest/config';

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
