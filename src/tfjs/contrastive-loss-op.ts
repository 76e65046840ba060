/**
 * The fused contrastive losses as a differentiable TensorFlow.js op on the `webgpu` backend.
 *
 * The op runs on the backend's own GPUDevice and never leaves the GPU:
 *
 * 1. Inputs. `tensor.dataToGPU()` gives a copy of each view in a buffer of tfjs's pool. tfjs
 *    encodes that copy into its own command encoder and submits it right away, together with
 *    every command it had batched before (the ones that computed z1 and z2). The op then flushes
 *    tfjs's encoder once more (public `ensureCommandEncoderReady` / `endComputePassEncoder` /
 *    `submitQueue`), so that nothing of tfjs's is left unsubmitted when the fused kernels go in.
 * 2. The fused forward+backward is encoded into an encoder of ours and submitted on the same
 *    `GPUQueue`: the queue runs submissions in order, so it sees finished inputs.
 * 3. Outputs. The dispatcher writes loss and gradients into buffers it hands over to us;
 *    `tf.tensor({buffer}, shape)` (no zeroCopy) copies each into a buffer of tfjs's pool, encoding
 *    and submitting that copy after our submission. tfjs owns the copies (released when the
 *    tensors are disposed); ours are destroyed right away (destroy waits for submitted work).
 * 4. The dataToGPU tensor refs are disposed after our submission, so tfjs can only reuse their
 *    buffers for work it submits later.
 *
 * Forward computes the loss and both gradients in one fused run (when gradients are being
 * recorded); the gradient function multiplies the saved gradients by the upstream `dy` with a
 * tfjs op, on the GPU. Nothing is ever mapped for reading.
 *
 * A learnable temperature (τ a scalar tensor) never leaves the GPU either: tfjs computes
 * `[1/τ, 1/(τ·m)]` into a two-float tensor and the dispatcher copies it into the kernels'
 * uniforms on the GPU timeline (`EncodeArgs.temperatureParams`), ahead of the passes of the
 * same submission; the kernels' `gradTemperature` output becomes τ's gradient. A bank tensor
 * travels like the views (dataToGPU), diagnostics come back like the loss (a GPU copy).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ContrastiveLoss, type LossOutputs } from '../contrastive-loss.js';
import { BIAS_RANGE, type LossOptions } from '../options.js';
import { activeWebGPUBackend, flushBackend, toThisGPU } from './backend.js';
import { resolveTfjsOptions, type ResolvedTfjsOptions, type TfjsLossOptions } from './op-options.js';

/**
 * Options of {@link contrastiveLoss}: which loss, and its hyper-parameters. Anything left out
 * takes the loss's default (docs/FORMULAS.md: τ = 0.5 for `ntxent`, 0.1 otherwise; σ = 0.5; m = 10;
 * DCLW weights detached; `negatives: 'all'`). `temperature` may be a scalar tensor (learned),
 * `bank` a K×D tensor or a GPU bank (e.g. `NegativeQueue.bank`), `diagnostics: true` makes
 * the four diagnostics available from {@link contrastiveLossDiagnostics}.
 */
export type ContrastiveLossOpOptions = TfjsLossOptions;

/** The diagnostics tensor of the latest call with `diagnostics: true`, until taken. */
let latestDiagnostics: tf.Tensor1D | undefined;

/**
 * The four diagnostics (alignment, uniformity, positiveProbability, npcMultiplier: the order
 * of `DIAGNOSTIC_NAMES`) of the latest {@link contrastiveLoss} call made with
 * `diagnostics: true`, as a float32 tensor of shape [4] that stays on the GPU (no read-back
 * inside the step: read it when you log). The caller takes ownership and disposes it; until
 * taken, each such call replaces (and disposes) the previous one. `undefined` when there is none.
 */
export function contrastiveLossDiagnostics(): tf.Tensor1D | undefined {
  const d = latestDiagnostics;
  latestDiagnostics = undefined;
  return d;
}

/** One dispatcher per GPUDevice, shared by every call on that device. */
const dispatchers = new WeakMap<GPUDevice, ContrastiveLoss>();

/**
 * The fused-loss dispatcher running on the active `webgpu` backend's device (created on first
 * use, then cached per device). Useful for memory accounting (`liveBufferCount`,
 * `currentBytes`); the op owns it: do not destroy it, call {@link releaseContrastiveLoss}.
 * Throws on any other backend.
 */
export function contrastiveLossDispatcher(): ContrastiveLoss {
  const backend = activeWebGPUBackend('contrastiveLossDispatcher');
  let cl = dispatchers.get(backend.device);
  if (!cl) {
    cl = ContrastiveLoss.createSync({ device: backend.device });
    dispatchers.set(backend.device, cl);
  }
  return cl;
}

/**
 * Compile the fused kernels for the active `webgpu` backend ahead of the first call, reporting
 * a compile failure as an exception (optional: the op otherwise compiles them synchronously on
 * first use). Resolves to the cached dispatcher.
 */
export async function prepareContrastiveLoss(): Promise<ContrastiveLoss> {
  const backend = activeWebGPUBackend('prepareContrastiveLoss');
  let cl = dispatchers.get(backend.device);
  if (!cl) {
    const created = await ContrastiveLoss.create({ device: backend.device });
    cl = dispatchers.get(backend.device) ?? created;
    if (cl !== created) created.destroy();
    dispatchers.set(backend.device, cl);
  }
  return cl;
}

/**
 * Destroy the cached dispatcher of the active `webgpu` backend's device (its workspace and
 * constant buffers). The next call of the op creates a new one. No-op when there is none.
 */
export function releaseContrastiveLoss(): void {
  const backend = activeWebGPUBackend('releaseContrastiveLoss');
  const cl = dispatchers.get(backend.device);
  if (cl) {
    cl.destroy();
    dispatchers.delete(backend.device);
  }
}

function checkInputs(z1: tf.Tensor, z2: tf.Tensor): [number, number] {
  if (!(z1 instanceof tf.Tensor) || !(z2 instanceof tf.Tensor)) throw new TypeError('contrastiveLoss: z1 and z2 must be tf.Tensors');
  if (z1.rank !== 2 || z2.rank !== 2) {
    throw new RangeError(`contrastiveLoss: z1 and z2 must be 2-D (N×D), got shapes [${z1.shape}] and [${z2.shape}]`);
  }
  if (z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) {
    throw new RangeError(`contrastiveLoss: z1 and z2 must have the same shape, got [${z1.shape}] and [${z2.shape}]`);
  }
  if (z1.dtype !== 'float32' || z2.dtype !== 'float32') {
    throw new TypeError(`contrastiveLoss: z1 and z2 must be float32, got ${z1.dtype} and ${z2.dtype}`);
  }
  return [z1.shape[0]!, z1.shape[1]!];
}

/** What one fused run hands back to tfjs (tensors owned by tfjs). */
interface FusedResult {
  loss: tf.Scalar;
  gradZ1?: tf.Tensor2D;
  gradZ2?: tf.Tensor2D;
  gradTemperature?: tf.Scalar;
  gradBias?: tf.Scalar;
  diagnostics?: tf.Tensor1D;
}

/** The learnable scalars of one call, as tensors (each gets its gradient from the kernels). */
interface LearnedScalars {
  tau?: tf.Tensor;
  bias?: tf.Tensor;
}

/**
 * `[1/τ, 1/(τ·m)]` from a scalar τ tensor, on the GPU: the kernels' two temperature uniforms.
 * A τ that is ≤ 0 or whose inverse is not finite gives NaN, so the loss is NaN — the op cannot
 * throw on a value it never reads back, but it must not return a plausible wrong loss.
 */
function temperatureParams(tau: tf.Tensor, m: number): tf.Tensor1D {
  return tf.tidy(() => {
    const t = tf.reshape(tau, []);
    const inv = tf.div(1, t);
    const params = tf.stack([inv, tf.div(inv, m)]) as tf.Tensor1D;
    const ok = tf.logicalAnd(tf.greater(t, 0), tf.isFinite(tf.div(inv, m)));
    return tf.where(ok, params, tf.fill([2], NaN)) as tf.Tensor1D;
  });
}

/** `[b]` from a scalar b tensor, on the GPU: NaN outside the option's range (±1e12), like τ above. */
function biasParams(bias: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const b = tf.reshape(bias, [1]);
    return tf.where(tf.lessEqual(tf.abs(b), BIAS_RANGE.max), b, tf.fill([1], NaN)) as tf.Tensor1D;
  });
}

/**
 * Run the fused kernels on two views that live on the webgpu backend. Returns tfjs tensors
 * (the loss scalar; the N×D gradients, ∂L/∂τ and ∂L/∂b when `backward` and τ, b are tensors;
 * the diagnostics when asked), owned by tfjs.
 */
function runFused(
  backend: WebGPUBackend,
  z1: tf.Tensor2D,
  z2: tf.Tensor2D,
  n: number,
  d: number,
  o: ResolvedTfjsOptions,
  options: ContrastiveLossOpOptions,
  learned: LearnedScalars,
  backward: boolean,
): FusedResult {
  const cl = contrastiveLossDispatcher();
  // Everything the kernels read, each made resident and copied by dataToGPU; the index of each in `refs`.
  const onGpu: tf.Tensor[] = [z1, z2];
  const add = (t: tf.Tensor | undefined) => (t ? onGpu.push(t) - 1 : -1);
  const made: tf.Tensor[] = []; // tensors made here, disposed once copied
  const keep = <T extends tf.Tensor>(t: T) => (made.push(t), t);
  const paramsAt = add(learned.tau && keep(temperatureParams(learned.tau, o.resolved.dtM)));
  const biasAt = add(learned.bias && keep(biasParams(learned.bias)));
  const bankAt = add(o.bankTensor);
  const labelsAt = add(o.labels === undefined ? undefined : o.labels instanceof tf.Tensor ? o.labels : keep(tf.tensor1d(o.labels, 'int32')));
  for (const t of onGpu) toThisGPU(backend, t);
  // Copies into tfjs-pooled buffers; each call submits tfjs's pending commands with its copy.
  const refs = onGpu.map((t) => t.dataToGPU());
  tf.dispose(made);
  const bufferAt = (i: number) => (i < 0 ? undefined : refs[i]!.buffer);
  let out: LossOutputs | undefined;
  try {
    if (refs.some((r) => !r.buffer)) throw new Error('contrastiveLoss: the webgpu backend returned no GPUBuffer for an input');
    const bankBuffer = bufferAt(bankAt) ?? o.gpuBank?.buffer;
    const labelsBuffer = bufferAt(labelsAt);
    const { temperature: _t, bank: _b, labels: _l, bias: _c, ...rest } = options;
    const lossOptions: LossOptions = {
      ...rest,
      ...(learned.tau ? (backward ? { gradTemperature: true } : {}) : { temperature: o.resolved.temperature }),
      ...(o.resolved.loss === 'siglip' ? (learned.bias ? (backward ? { gradBias: true } : {}) : { bias: o.resolved.bias }) : {}),
      ...(bankBuffer ? { bank: { buffer: bankBuffer, k: o.resolved.bankRows } } : {}),
      ...(labelsBuffer ? { labels: labelsBuffer } : {}),
    };
    flushBackend(backend);
    const encoder = backend.device.createCommandEncoder({ label: 'webgpu-contrastive tfjs op' });
    out = cl.encode(encoder, {
      z1: refs[0]!.buffer!,
      z2: refs[1]!.buffer!,
      n,
      d,
      options: lossOptions,
      backward,
      ...(paramsAt >= 0 ? { temperatureParams: bufferAt(paramsAt)! } : {}),
      ...(biasAt >= 0 ? { biasParams: bufferAt(biasAt)! } : {}),
    });
    backend.device.queue.submit([encoder.finish()]);
  } finally {
    // After our submit: tfjs may reuse these buffers only for work it submits later.
    for (const r of refs) r.tensorRef.dispose();
  }
  try {
    // Each tf.tensor({buffer}) copies into a tfjs-owned buffer and submits the copy (after ours).
    const scalar = (b: GPUBuffer) => tf.tensor({ buffer: b }, [], 'float32') as tf.Scalar;
    const result: FusedResult = { loss: scalar(out.loss) };
    if (backward) {
      result.gradZ1 = tf.tensor({ buffer: out.gradZ1! }, [n, d], 'float32') as tf.Tensor2D;
      result.gradZ2 = tf.tensor({ buffer: out.gradZ2! }, [n, d], 'float32') as tf.Tensor2D;
      if (out.gradTemperature) result.gradTemperature = scalar(out.gradTemperature);
      if (out.gradBias) result.gradBias = scalar(out.gradBias);
    }
    if (out.diagnostics) result.diagnostics = tf.tensor({ buffer: out.diagnostics }, [4], 'float32') as tf.Tensor1D;
    return result;
  } finally {
    // Handed over by the dispatcher, so ours to destroy; the submitted copies still complete.
    for (const b of Object.values(out)) (b as GPUBuffer).destroy();
  }
}

/**
 * A contrastive loss of two views `z1`, `z2` (each N×D float32, row i of both being two
 * augmentations of sample i), computed by the fused WebGPU kernels on the TensorFlow.js
 * `webgpu` backend. Returns the reported mean loss of docs/FORMULAS.md as a scalar.
 *
 * Differentiable with respect to both views and, when `temperature` is a scalar tensor (a
 * `tf.Variable`), to τ (`tf.grad`, `tf.variableGrads`, `optimizer.minimize`): when gradients
 * are being recorded, one fused run computes the loss and every gradient; the gradient function
 * scales them by the upstream gradient on the GPU. Outside a gradient scope only the forward
 * kernels run. A `bank` gets no gradient. Inputs and outputs stay on the GPU.
 *
 * @param z1 First view, N×D float32, N ≥ 2 (N ≥ 1 with a bank).
 * @param z2 Second view, same shape.
 * @param options The loss and its hyper-parameters ({@link ContrastiveLossOpOptions}).
 * @throws Error when the active backend is not `webgpu`; RangeError/TypeError on bad shapes,
 *   dtypes or options (before anything runs on the GPU).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-webgpu';
 * import { contrastiveLoss } from 'webgpu-contrastive/tfjs';
 * await tf.setBackend('webgpu');
 * optimizer.minimize(() => contrastiveLoss(encode(view1), encode(view2), { loss: 'dcl' }));
 * // CLIP: cross-view candidates and a learned temperature
 * const tau = tf.variable(tf.scalar(0.07));
 * optimizer.minimize(() => contrastiveLoss(image, text, { loss: 'ntxent', negatives: 'cross', temperature: tau }));
 * ```
 */
export function contrastiveLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, options: ContrastiveLossOpOptions): tf.Scalar {
  const backend = activeWebGPUBackend('contrastiveLoss');
  const [n, d] = checkInputs(z1, z2);
  const o = resolveTfjsOptions('contrastiveLoss', options, d, n);
  const minRows = o.resolved.bankRows > 0 ? 1 : 2;
  if (n < minRows) {
    throw new RangeError(`contrastiveLoss: N must be ≥ ${minRows}${minRows === 2 ? ' (no negatives with N = 1; a bank allows N = 1)' : ''}, got ${n}`);
  }
  // Only pay for the backward kernels when a gradient is being recorded.
  const backward = tf.engine().isTapeOn();
  const keepDiagnostics = (r: FusedResult) => {
    if (!r.diagnostics) return;
    latestDiagnostics?.dispose();
    latestDiagnostics = tf.keep(r.diagnostics);
  };
  // The differentiable inputs: the views, then τ and b when they are tensors (labels and a bank get no gradient).
  const learnedNames = (['tau', 'bias'] as const).filter((k) => (k === 'tau' ? o.tauTensor : o.biasTensor));
  const learnedInputs = learnedNames.map((k) => (k === 'tau' ? o.tauTensor! : o.biasTensor!));
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [a, b, ...scalars] = args as tf.Tensor[];
    const learned: LearnedScalars = {};
    learnedNames.forEach((k, i) => (learned[k] = scalars[i]));
    const r = runFused(backend, a as tf.Tensor2D, b as tf.Tensor2D, n, d, o, options, learned, backward);
    keepDiagnostics(r);
    const gradOf = { tau: r.gradTemperature, bias: r.gradBias };
    if (backward) save([r.gradZ1!, r.gradZ2!, ...learnedNames.map((k) => gradOf[k]!)]);
    return {
      value: r.loss,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => [
        tf.mul(dy, saved[0]!),
        tf.mul(dy, saved[1]!),
        ...scalars.map((t, i) => tf.reshape(tf.mul(dy, saved[2 + i]!), t.shape)),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(z1, z2, ...learnedInputs) as tf.Scalar;
}
