/**
 * webgpu-contrastive: fused WebGPU kernels for contrastive-learning losses.
 * See README.md for the API and MATH.md (shared/) for the formulas.
 */
export { ContrastiveLoss, DeviceLostError } from './contrastive-loss.js';
export { requestDevice, requestRuntimeDevice, NoAdapterError, installDawnNavigator, relaunchWithSwiftShader } from './runtime/index.js';
export type { AdapterInfo, DeviceRequest, RuntimeDevice, RuntimeName } from './runtime/index.js';
export type { CreateOptions, EncodeArgs, LossOutputs, LossResult } from './contrastive-loss.js';
export { NegativeQueue, randomUnitRows } from './negative-queue.js';
export type { NegativeQueueOptions } from './negative-queue.js';
export { KERNELS, TILES } from './kernels.js';
export type { KernelSpec, KernelName } from './kernels.js';
export {
  LOSS_NAMES,
  THIRD_WAVE_LOSS_NAMES,
  REFERENCE_LOSS_NAMES,
  DEFAULT_TEMPERATURE,
  DEFAULT_BASE_TEMPERATURE,
  DEFAULT_SIGLIP_BIAS,
  DEFAULT_SIGMA,
  DEFAULT_DT_M,
  DIAGNOSTIC_NAMES,
  resolveOptions,
  checkBank,
  isGpuBank,
  OPTION_SCHEMA,
  OPTION_RULES,
  SCALE_RANGE,
} from './options.js';
export { checkViews } from './validate.js';
export type { LossName, FusedLossName, ThirdWaveLossName, LabelsInput, LossOptions, ResolvedLossOptions, OptionSpec, NegativesMode, BankInput, GpuBank, Diagnostics } from './options.js';
export { WORKSPACE_SHAPES, CONSTANT_ENTRIES } from './lifetime.js';
