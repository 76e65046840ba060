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
import type { LossOptions } from '../options.js';
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
  diagnostics?: tf.Tensor1D;
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

/**
 * Run the fused kernels on two views that live on the webgpu backend. Returns tfjs tensors
 * (the loss scalar; the N×D gradients and ∂L/∂τ when `backward`; the diagnostics when asked),
 * owned by tfjs.
 */
function runFused(
  backend: WebGPUBackend,
  z1: tf.Tensor2D,
  z2: tf.Tensor2D,
  n: number,
  d: number,
  o: ResolvedTfjsOptions,
  options: ContrastiveLossOpOptions,
  tau: tf.Tensor | undefined,
  backward: boolean,
): FusedResult {
  const cl = contrastiveLossDispatcher();
  const onGpu: tf.Tensor[] = [z1, z2];
  const params = tau ? temperatureParams(tau, o.resolved.dtM) : undefined;
  if (params) onGpu.push(params);
  if (o.bankTensor) onGpu.push(o.bankTensor);
  for (const t of onGpu) toThisGPU(backend, t);
  // Copies into tfjs-pooled buffers; each call submits tfjs's pending commands with its copy.
  const refs = onGpu.map((t) => t.dataToGPU());
  params?.dispose();
  let out: LossOutputs | undefined;
  try {
    if (refs.some((r) => !r.buffer)) throw new Error('contrastiveLoss: the webgpu backend returned no GPUBuffer for an input');
    const [in1, in2] = refs;
    const paramsBuffer = params ? refs[2]!.buffer : undefined;
    const bankBuffer = o.bankTensor ? refs[refs.length - 1]!.buffer : o.gpuBank?.buffer;
    const { temperature: _t, bank: _b, ...rest } = options;
    const lossOptions: LossOptions = {
      ...rest,
      ...(tau ? {} : { temperature: o.resolved.temperature }),
      ...(tau && backward ? { gradTemperature: true } : {}),
      ...(bankBuffer ? { bank: { buffer: bankBuffer, k: o.resolved.bankRows } } : {}),
    };
    flushBackend(backend);
    const encoder = backend.device.createCommandEncoder({ label: 'webgpu-contrastive tfjs op' });
    out = cl.encode(encoder, {
      z1: in1!.buffer!,
      z2: in2!.buffer!,
      n,
      d,
      options: lossOptions,
      backward,
      ...(paramsBuffer ? { temperatureParams: paramsBuffer } : {}),
    });
    backend.device.queue.submit([encoder.finish()]);
  } finally {
    // After our submit: tfjs may reuse these buffers only for work it submits later.
    for (const r of refs) r.tensorRef.dispose();
  }
  try {
    // Each tf.tensor({buffer}) copies into a tfjs-owned buffer and submits the copy (after ours).
    const result: FusedResult = { loss: tf.tensor({ buffer: out.loss }, [], 'float32') as tf.Scalar };
    if (backward) {
      result.gradZ1 = tf.tensor({ buffer: out.gradZ1! }, [n, d], 'float32') as tf.Tensor2D;
      result.gradZ2 = tf.tensor({ buffer: out.gradZ2! }, [n, d], 'float32') as tf.Tensor2D;
      if (out.gradTemperature) result.gradTemperature = tf.tensor({ buffer: out.gradTemperature }, [], 'float32') as tf.Scalar;
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
  const o = resolveTfjsOptions('contrastiveLoss', options, d);
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
  const tau = o.tauTensor;
  if (!tau) {
    const op = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
      const r = runFused(backend, a, b, n, d, o, options, undefined, backward);
      keepDiagnostics(r);
      if (backward) save([r.gradZ1!, r.gradZ2!]);
      return {
        value: r.loss,
        gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]!), tf.mul(dy, saved[1]!)],
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(z1, z2) as tf.Scalar;
  }
  const op = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, t: tf.Tensor, save: tf.GradSaveFunc) => {
    const r = runFused(backend, a, b, n, d, o, options, t, backward);
    keepDiagnostics(r);
    if (backward) save([r.gradZ1!, r.gradZ2!, r.gradTemperature!]);
    return {
      value: r.loss,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => [
        tf.mul(dy, saved[0]!),
        tf.mul(dy, saved[1]!),
        tf.reshape(tf.mul(dy, saved[2]!), t.shape),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(z1, z2, tau) as tf.Scalar;
}
