import { existsSync, readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vitest/config';
import { startedWithSwiftShader, swiftShaderEnv, systemAdapterAvailable } from './src/runtime/node.js';

/** `.wgsl` imports as their text, as esbuild's `text` loader does for the bundles. */
const wgslAsText: Plugin = {
  name: 'wgsl-as-text',
  load(id) {
    if (id.endsWith('.wgsl')) return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    return null;
  },
};

// One Chromium for the whole run (global setup); WebGPU on SwiftShader is slow, hence the timeouts.
// Node-runtime tests (Dawn) need the Vulkan loader pointed at Chromium's SwiftShader when the
// machine has no GPU driver: the loader reads the variables at process start, so they are set
// here, before the forked workers spawn (src/runtime/node.ts).
export default defineConfig(async () => {
  if (!startedWithSwiftShader() && !(await systemAdapterAvailable({ existsSync }))) {
    const env = swiftShaderEnv({ existsSync });
    if (env) Object.assign(process.env, env);
  }
  return {
    plugins: [wgslAsText],
    test: {
      include: ['test/**/*.test.ts'],
      globalSetup: ['test/harness/global-setup.ts'],
      testTimeout: 300_000,
      hookTimeout: 120_000,
      pool: 'forks',
      maxWorkers: 2,
    },
  };
});
