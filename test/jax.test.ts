/** The jax-js adapter (`webgpu-contrastive/jax`) in headless Chromium: test/support/jax-suite.ts. */
import { jaxSuite } from './support/jax-suite.js';

jaxSuite('chromium');
