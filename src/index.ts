/**
 * webgpu-contrastive: fused WebGPU kernels for contrastive-learning losses.
 * See README.md for the API and docs/FORMULAS.md for the formulas. This entry exports what
 * users use; the dispatcher's internals (kernel table, tiles, option schema, validators, cache
 * sizes) are in src/internal.ts, which is not part of the package's exports.
 */
/// <reference types="@webgpu/types" preserve="true" />
export { ContrastiveLoss, DeviceLostError } from './contrastive-loss.js';
export type {
  ComputeControls,
  CreateOptions,
  CreateProgress,
  EncodeArgs,
  EncodeOutputs,
  Gradients,
  LossOutputs,
  LossResult,
} from './contrastive-loss.js';
export { readOutputs } from './read-outputs.js';
export type { ReadOutputs } from './read-outputs.js';
export { requestDevice, requestRuntimeDevice, NoAdapterError, installDawnNavigator, relaunchWithSwiftShader } from './runtime/index.js';
export type { AdapterInfo, DeviceRequest, RuntimeDevice, RuntimeName } from './runtime/index.js';
export { NegativeQueue, randomUnitRows } from './negative-queue.js';
export type { NegativeQueueOptions } from './negative-queue.js';
export {
  LOSS_NAMES,
  THIRD_WAVE_LOSS_NAMES,
  DEFAULT_TEMPERATURE,
  DEFAULT_BASE_TEMPERATURE,
  DEFAULT_SIGLIP_BIAS,
  DEFAULT_SIGMA,
  DEFAULT_DT_M,
  DIAGNOSTIC_NAMES,
  SCALE_RANGE,
} from './options.js';
export type { LossName, FusedLossName, ThirdWaveLossName, LabelsInput, LossOptions, NegativesMode, BankInput, GpuBank, Diagnostics } from './options.js';
