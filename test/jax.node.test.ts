/** The jax-js adapter (`webgpu-contrastive/jax`) in this Node process on Dawn (npm `webgpu`): test/support/jax-suite.ts. */
import { jaxSuite } from './support/jax-suite.js';

jaxSuite('node');
