/**
 * `webgpu-contrastive/tfjs`: the fused contrastive losses as a differentiable TensorFlow.js op
 * on the `webgpu` backend (peer dependencies: `@tensorflow/tfjs-core`,
 * `@tensorflow/tfjs-backend-webgpu`), and the same losses as plain tfjs ops (the baseline).
 */
/// <reference types="@webgpu/types" preserve="true" />
export {
  contrastiveLoss,
  contrastiveLossDiagnostics,
  contrastiveLossDispatcher,
  prepareContrastiveLoss,
  releaseContrastiveLoss,
} from './contrastive-loss-op.js';
export type { ContrastiveLossOpOptions } from './contrastive-loss-op.js';
export type { TfjsLossOptions } from './op-options.js';
export { tfjsOpsLoss } from './ops-losses.js';
export { enqueueKeys } from './queue.js';
export { NegativeQueue } from '../negative-queue.js';
export type { NegativeQueueOptions } from '../negative-queue.js';
export type { LossName, LossOptions, Diagnostics, GpuBank, NegativesMode } from '../options.js';
export { LOSS_NAMES, THIRD_WAVE_LOSS_NAMES, DEFAULT_TEMPERATURE, DEFAULT_SIGMA, DEFAULT_DT_M, DIAGNOSTIC_NAMES } from '../options.js';
