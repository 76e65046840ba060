/**
 * Loss options as the jax-js adapter takes them (the fused step and the plain-ops baseline share
 * these checks): those of docs/FORMULAS.md, except that supcon's `labels` may also be a jax-js
 * int32 array and siglip's `bias` a jax-js float32 scalar, so that a training loop's labels and
 * learnable bias never have to leave jax-js.
 */
import { Array as JaxArray, numpy as np, type Device } from '@jax-js/jax';
import { isGpuLabels, resolveOptions, type LabelsInput, type LossOptions, type ResolvedLossOptions } from '../options.js';

/**
 * The loss options of `ContrastiveLoss` (docs/FORMULAS.md), with two jax-js forms:
 * - `labels` (supcon): an `Int32Array` of N class labels, or a jax-js int32 array of shape [N]
 *   (the fused step also takes `ContrastiveLoss.encode`'s GPUBuffer of N i32/u32 values);
 * - `bias` (siglip): a number, or a jax-js float32 scalar (shape []), which the fused step reads on
 *   the GPU, without a read-back.
 *
 * The options object is held by the step and read on every call, so a jax-js array in it is
 * borrowed, not consumed: it stays the caller's, to dispose when no step will use it any more.
 */
export type JaxLossOptions = Omit<LossOptions, 'labels' | 'bias'> & {
  labels?: LabelsInput | JaxArray;
  bias?: number | JaxArray;
};

/**
 * Validate `options` (a TypeError/RangeError naming the bad option, prefixed with `where`) and
 * fill in the defaults. A jax-js `labels` or `bias` is checked here for dtype and rank and then
 * stands in as an empty Int32Array / 0 for the schema's checks, which therefore still refuse it
 * with a loss it does not apply to; its values are never read on the CPU.
 */
export function resolveJaxOptions(options: JaxLossOptions, where: string): ResolvedLossOptions {
  if (typeof options !== 'object' || options === null) return resolveOptions(options as LossOptions);
  const forChecks = { ...options } as Record<string, unknown>;
  const { labels, bias } = options;
  if (labels instanceof JaxArray) {
    if (labels.dtype !== 'int32') throw new TypeError(`${where}: labels must be a jax-js int32 array (x.astype(np.int32)), got ${labels.dtype}`);
    if (labels.ndim !== 1) throw new RangeError(`${where}: labels must be 1-D, one class label per sample (shape [N]), got shape [${labels.shape}]`);
    forChecks.labels = new Int32Array(0);
  }
  if (bias instanceof JaxArray) {
    if (bias.dtype !== 'float32') throw new TypeError(`${where}: bias must be a number or a jax-js float32 scalar, got a ${bias.dtype} array`);
    if (bias.ndim !== 0) throw new RangeError(`${where}: bias must be a scalar (shape []), got shape [${bias.shape}]`);
    forChecks.bias = 0;
  }
  return resolveOptions(forChecks as unknown as LossOptions);
}

/**
 * Throws unless `labels` holds exactly N values (one per sample; both views share it). A GPUBuffer
 * is left to the dispatcher, which checks it holds at least N values.
 */
export function checkLabelsLength(labels: LabelsInput | JaxArray, n: number, where: string): void {
  if (!(labels instanceof JaxArray) && isGpuLabels(labels)) return;
  const count = labels instanceof JaxArray ? labels.shape[0]! : labels.length;
  if (count !== n) throw new RangeError(`${where}: labels has ${count} values, expected N = ${n} (one per sample; both views share it)`);
}

/**
 * `labels` as a jax-js int32 array of shape [N] that the caller of this function owns: a new
 * array on `device` for an `Int32Array`, a new reference (`.ref`) to a given jax-js array.
 */
export function labelsArray(labels: Int32Array | JaxArray, device: Device): JaxArray {
  return labels instanceof JaxArray ? labels.ref : np.array(labels, { dtype: np.int32, device });
}
