/**
 * The jax-js adapter in Node on Dawn (npm `webgpu`, SwiftShader): the shared suite of
 * test/support/jax-suite.ts with the page functions of test/browser/jax-page.ts imported
 * directly. jax-js finds WebGPU through `navigator.gpu`, so navigator is set before the page
 * module (and with it jax-js) is loaded; the module is bundled with esbuild because it imports
 * the `.wgsl` kernels as text. The Vulkan loader reads LD_LIBRARY_PATH / VK_ICD_FILENAMES at
 * process start: vitest.config.ts sets them before the workers fork.
 */
import { jaxSuite } from './support/jax-suite.js';
// @ts-expect-error: esbuild.config.mjs is plain JavaScript without declarations.
import { importNodeBundle } from '../esbuild.config.mjs';
import type * as JaxPage from './browser/jax-page.js';

jaxSuite('node, Dawn', async () => {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true, writable: true });
  const page = (await importNodeBundle('test/browser/jax-page.ts', '.cache/jax-page.node.mjs')) as typeof JaxPage;
  return {
    call: async (name, ...args) => (page[name] as (...a: unknown[]) => unknown)(...args) as never,
    close: async () => {},
  };
});
