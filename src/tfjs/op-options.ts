/**
 * The options of the tfjs adapter: the dispatcher's {@link LossOptions}, except that τ and
 * siglip's bias may be scalar tensors (learnable: their gradients are returned), the bank is a
 * tensor and supcon's labels an int32 tensor.
 * One resolver, shared by the fused op and the plain-ops baseline, so both accept and reject
 * the same things with the dispatcher's own messages.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isGpuBank, resolveOptions, type GpuBank, type LossOptions, type ResolvedLossOptions } from '../options.js';

/** Options of the tfjs losses. Anything left out takes the loss's default (docs/FORMULAS.md). */
export interface TfjsLossOptions extends Omit<LossOptions, 'temperature' | 'bank' | 'labels' | 'bias'> {
  /**
   * τ > 0 as a number, or as a scalar float32 tensor (shape [] or [1]; typically a
   * `tf.Variable`), whose gradient the op returns so that an optimizer learns it (CLIP's
   * learnable temperature). A tensor τ is never read back: a value ≤ 0 or non-finite makes the
   * loss NaN rather than an exception.
   */
  temperature?: number | tf.Tensor;
  /**
   * Queue negatives: a K×D float32 tensor (no gradient flows to it), or, for the fused op, a
   * GPU bank `{ buffer, k }` such as `NegativeQueue.bank`. Its values are not checked for
   * finiteness (that would be a read-back).
   */
  bank?: tf.Tensor2D | GpuBank;
  /**
   * `supcon` only, and required there: one class label per sample, an int32 tensor of shape [N]
   * (or an `Int32Array`); both views share it. Only equality matters; any int32 values.
   */
  labels?: tf.Tensor1D | Int32Array;
  /**
   * `siglip` only: the logit bias b, a number (default −10) or a scalar float32 tensor (a
   * `tf.Variable`: its gradient ∂L/∂b is returned, read on the GPU, never read back; a
   * non-finite value or one outside ±1e12 makes the loss NaN rather than an exception).
   */
  bias?: number | tf.Tensor;
}

/** {@link TfjsLossOptions} checked and resolved. */
export interface ResolvedTfjsOptions {
  /** The dispatcher's resolved options (with τ's default when τ is a tensor: not used then). */
  resolved: ResolvedLossOptions;
  /** τ as a scalar tensor, when given as one. */
  tauTensor?: tf.Tensor;
  /** The bank tensor, when given as one. */
  bankTensor?: tf.Tensor2D;
  /** The GPU bank, when given as one. */
  gpuBank?: GpuBank;
  /** supcon's labels, checked (an int32 tensor of shape [N] or an Int32Array of N values). */
  labels?: tf.Tensor1D | Int32Array;
  /** siglip's b as a scalar tensor, when given as one. */
  biasTensor?: tf.Tensor;
}

/** A scalar float32 tensor (shape [] or [1]) named `name`, or a clear error. */
function checkScalarTensor(what: string, name: string, t: tf.Tensor): tf.Tensor {
  if (t.size !== 1 || t.rank > 1) throw new RangeError(`${what}: a ${name} tensor must be a scalar (shape [] or [1]), got shape [${t.shape}]`);
  if (t.dtype !== 'float32') throw new TypeError(`${what}: a ${name} tensor must be float32, got ${t.dtype}`);
  return t;
}

/** supcon's labels: an int32 tensor of shape [n], or an Int32Array of n values (not yet a tensor). */
function checkLabels(what: string, labels: unknown, n: number | undefined): void {
  if (labels instanceof tf.Tensor) {
    if (labels.dtype !== 'int32') throw new TypeError(`${what}: labels must be an int32 tensor (tf.tensor1d(values, 'int32')), got ${labels.dtype}`);
    if (labels.rank !== 1 || (n !== undefined && labels.shape[0] !== n)) {
      throw new RangeError(`${what}: labels must have shape [N]${n !== undefined ? ` = [${n}]` : ''} (one per sample; both views share it), got shape [${labels.shape}]`);
    }
    return;
  }
  if (labels instanceof Int32Array) {
    if (n !== undefined && labels.length !== n) throw new RangeError(`${what}: labels has ${labels.length} values, expected N = ${n} (one per sample; both views share it)`);
    return;
  }
  const got = labels === null ? 'null' : typeof labels !== 'object' ? typeof labels : ((labels as object).constructor?.name ?? 'object');
  throw new TypeError(`${what}: labels must be an int32 tf.Tensor1D of N class labels or an Int32Array, got ${got}`);
}

/**
 * Check `options` for views of width `d` (`what` names the caller in messages) and resolve
 * them. Throws TypeError/RangeError before anything runs.
 */
export function resolveTfjsOptions(what: string, options: TfjsLossOptions, d: number, n?: number): ResolvedTfjsOptions {
  if (!options || typeof options !== 'object') throw new TypeError(`${what}: options must be an object with at least { loss }`);
  const { temperature, bank, labels, bias, ...rest } = options;
  const tauTensor = temperature instanceof tf.Tensor ? checkScalarTensor(what, 'temperature', temperature) : undefined;
  const biasTensor = bias instanceof tf.Tensor ? checkScalarTensor(what, 'bias', bias) : undefined;
  if (labels !== undefined) checkLabels(what, labels, n);
  let bankTensor: tf.Tensor2D | undefined;
  let gpuBank: GpuBank | undefined;
  let k = 0;
  if (bank instanceof tf.Tensor) {
    if (bank.rank !== 2 || bank.shape[1] !== d) {
      throw new RangeError(`${what}: bank must be a K×D tensor with D = ${d} (the views' width), got shape [${bank.shape}]`);
    }
    if (bank.dtype !== 'float32') throw new TypeError(`${what}: bank must be float32, got ${bank.dtype}`);
    bankTensor = bank;
    k = bank.shape[0];
  } else if (bank !== undefined) {
    if (typeof bank !== 'object' || bank === null || ArrayBuffer.isView(bank) || !isGpuBank(bank)) {
      throw new TypeError(`${what}: bank must be a K×D float32 tf.Tensor or { buffer: GPUBuffer, k }`);
    }
    gpuBank = bank;
    k = bank.k;
  }
  if (options.gradTemperature !== undefined && !tauTensor) {
    throw new TypeError(`${what}: gradTemperature is implied by a tensor temperature (its gradient flows to it); pass τ as a tf.Scalar, and leave gradTemperature out`);
  }
  if (options.gradBias !== undefined) {
    throw new TypeError(`${what}: gradBias is implied by a tensor bias (its gradient flows to it); pass b as a tf.Scalar, and leave gradBias out`);
  }
  // The dispatcher's own checks, with stand-ins for what it cannot see: the bank's row count for
  // the bank, an empty Int32Array for labels (their shape is checked above), 0 for a tensor b.
  const checked: LossOptions = {
    ...rest,
    ...(tauTensor ? {} : { temperature: temperature as number | undefined }),
    ...(bank !== undefined ? { bank: { buffer: gpuBank?.buffer as GPUBuffer, k } } : {}),
    ...(labels !== undefined ? { labels: new Int32Array(0) } : {}),
    ...(bias !== undefined ? { bias: biasTensor ? 0 : (bias as number) } : {}),
  };
  const resolved = resolveOptions(checked, d);
  return {
    resolved,
    ...(tauTensor ? { tauTensor } : {}),
    ...(bankTensor ? { bankTensor } : {}),
    ...(gpuBank ? { gpuBank } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(biasTensor ? { biasTensor } : {}),
  };
}
