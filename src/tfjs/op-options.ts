/**
 * The options of the tfjs adapter: the dispatcher's {@link LossOptions}, except that τ may be a
 * scalar tensor (a learnable temperature: its gradient is returned) and the bank is a tensor.
 * One resolver, shared by the fused op and the plain-ops baseline, so both accept and reject
 * the same things with the dispatcher's own messages.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isGpuBank, requireFirstWavesLoss, resolveOptions, type GpuBank, type LossOptions, type ResolvedLossOptions } from '../options.js';

/** Options of the tfjs losses. Anything left out takes the loss's default (docs/FORMULAS.md). */
export interface TfjsLossOptions extends Omit<LossOptions, 'temperature' | 'bank'> {
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
}

/**
 * Check `options` for views of width `d` (`what` names the caller in messages) and resolve
 * them. Throws TypeError/RangeError before anything runs.
 */
export function resolveTfjsOptions(what: string, options: TfjsLossOptions, d: number): ResolvedTfjsOptions {
  if (!options || typeof options !== 'object') throw new TypeError(`${what}: options must be an object with at least { loss }`);
  const { temperature, bank, ...rest } = options;
  let tauTensor: tf.Tensor | undefined;
  if (temperature instanceof tf.Tensor) {
    if (temperature.size !== 1 || temperature.rank > 1) {
      throw new RangeError(`${what}: a temperature tensor must be a scalar (shape [] or [1]), got shape [${temperature.shape}]`);
    }
    if (temperature.dtype !== 'float32') throw new TypeError(`${what}: a temperature tensor must be float32, got ${temperature.dtype}`);
    tauTensor = temperature;
  }
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
  // The dispatcher's own checks, with the bank's row count standing in for the bank.
  const checked: LossOptions = {
    ...rest,
    ...(tauTensor ? {} : { temperature: temperature as number | undefined }),
    ...(bank !== undefined ? { bank: { buffer: gpuBank?.buffer as GPUBuffer, k } } : {}),
  };
  const resolved = resolveOptions(checked, d);
  requireFirstWavesLoss(resolved.loss, what);
  return { resolved, ...(tauTensor ? { tauTensor } : {}), ...(bankTensor ? { bankTensor } : {}), ...(gpuBank ? { gpuBank } : {}) };
}
