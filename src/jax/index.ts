/**
 * `webgpu-contrastive/jax`: the fused contrastive losses inside a jax-js training step on
 * jax-js's own WebGPU device (optional peer dependency `@jax-js/jax`), and the same losses as
 * plain jax-js ops (the baseline). Every loss of docs/FORMULAS.md, `supcon` (labels an
 * Int32Array or a jax-js int32 array) and `siglip` (bias a number or a jax-js scalar) included.
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
export type { JaxLossOptions } from './loss-options.js';
export type { LossName, LossOptions } from '../options.js';
export { LOSS_NAMES, THIRD_WAVE_LOSS_NAMES, DEFAULT_TEMPERATURE, DEFAULT_SIGMA, DEFAULT_DT_M } from '../options.js';
