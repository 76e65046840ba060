/**
 * `webgpu-contrastive/jax`: the fused contrastive losses inside a jax-js training step on
 * jax-js's own WebGPU device (optional peer dependency `@jax-js/jax`), and the same losses as
 * plain jax-js ops (the baseline).
 */
/// <reference types="@webgpu/types" preserve="true" />
export { contrastiveValueAndGrad, jaxContrastiveLoss, releaseJaxContrastiveLoss } from './value-and-grad.js';
export type {
  ContrastiveAux,
  ContrastiveEncoder,
  ContrastiveStep,
  ContrastiveStepWithAux,
  ContrastiveValueAndGradOptions,
} from './value-and-grad.js';
export { jaxOpsLoss } from './ops-losses.js';
export type { LossName, LossOptions } from '../options.js';
export { LOSS_NAMES, DEFAULT_TEMPERATURE, DEFAULT_SIGMA, DEFAULT_DT_M } from '../options.js';
