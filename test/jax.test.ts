/**
 * The jax-js adapter (`webgpu-contrastive/jax`) in headless Chromium: the shared suite of
 * test/support/jax-suite.ts through the test page (test/browser/jax-page.ts).
 */
import { openPage } from './harness/page.js';
import { jaxSuite } from './support/jax-suite.js';

jaxSuite('chromium', async () => {
  const page = await openPage();
  return { call: (name, ...args) => (page.call as (n: string, ...a: unknown[]) => Promise<unknown>)(name, ...args) as never, close: () => page.close() };
});
