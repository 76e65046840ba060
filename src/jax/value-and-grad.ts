/**
 * The fused contrastive losses inside a jax-js training step, on jax-js's own WebGPU device.
 *
 * jax-js (0.1.25) has no custom-gradient API and cannot wrap an outside GPUBuffer as an array,
 * so the step is split at the loss, the way `valueAndGrad` is built from `vjp`:
 *
 * 1. `const [[z1, z2], pullback] = vjp(p => encode(p, ...args), [params])`: jax-js runs the
 *    encoder and keeps what its backward pass needs.
 * 2. The views are realized with `z.ref.gpuBuffer()` (contiguous, row-major, offset 0). That
 *    submits every jax-js dispatch the views depend on; jax-js submits each dispatch as soon as
 *    it is made, so work we submit afterwards on the same queue sees finished views.
 * 3. Output arrays are made by jax-js (`np.full(NaN)`, realized with `.ref.gpuBuffer()`): each owns
 *    a buffer of jax-js's pool alone. The fused kernels write the loss and ∂L/∂z into them, in
 *    one command buffer submitted on jax-js's queue.
 * 4. The views are disposed only after that submit: their buffers go back to jax-js's pool, and
 *    whatever jax-js writes into them later is submitted later, so queue order keeps it safe.
 * 5. `pullback([∂L/∂z1, ∂L/∂z2])` turns the view gradients into parameter gradients.
 *
 * Nothing is read back to the CPU and nothing is copied: the loss stays a jax-js array.
 */
import { Array as JaxArray, getWebGPUDevice, numpy as np, tree, vjp, type JsTree } from '@jax-js/jax';
import { ContrastiveLoss, type LossOutputs } from '../contrastive-loss.js';
import type { LossOptions } from '../options.js';
import { checkLabelsLength, labelsArray, resolveJaxOptions, type JaxLossOptions } from './loss-options.js';

/**
 * An encoder: parameters (any jax-js tree of arrays) and further arguments (the batch) in, the
 * two views `[z1, z2]` out, each an N×D float32 array on the webgpu device. It follows jax-js's
 * ownership convention: it consumes its array arguments.
 */
export type ContrastiveEncoder<P extends JsTree<JaxArray>, A extends unknown[]> = (params: P, ...args: A) => [JaxArray, JaxArray];

/**
 * The extra per-step outputs returned with `{ aux: true }`, as jax-js arrays the caller owns.
 * `gradTemperature`, `gradBias` and `diagnostics` are present when the loss options ask for them
 * (and the dispatcher supports them).
 */
export interface ContrastiveAux {
  /** ℓ_a per anchor: 2N values (z1 rows first); N (the z1 rows) in bank form and for siglip. */
  perAnchor: JaxArray;
  /** ∂L/∂τ, a scalar, with option `gradTemperature: true`. */
  gradTemperature?: JaxArray;
  /** ∂L/∂b (siglip), a scalar, with option `gradBias: true`. */
  gradBias?: JaxArray;
  /** [alignment, uniformity, positiveProbability, npcMultiplier], with option `diagnostics: true`. */
  diagnostics?: JaxArray;
}

/** Options of the adapter itself (the loss options are the second argument). */
export interface ContrastiveValueAndGradOptions {
  /**
   * The dispatcher to run on. It must live on jax-js's device (`getWebGPUDevice()`); the step
   * throws otherwise. Default: one cached per device (see {@link jaxContrastiveLoss}).
   */
  dispatcher?: ContrastiveLoss;
  /** Also return {@link ContrastiveAux}: the step resolves to `[[loss, aux], grads]`. */
  aux?: boolean;
}

/** A training step: resolves to `[loss, grads]`, `grads` with the tree structure of `params`. */
export type ContrastiveStep<P extends JsTree<JaxArray>, A extends unknown[]> = (params: P, ...args: A) => Promise<[JaxArray, P]>;

/** A training step with aux outputs: resolves to `[[loss, aux], grads]`. */
export type ContrastiveStepWithAux<P extends JsTree<JaxArray>, A extends unknown[]> = (
  params: P,
  ...args: A
) => Promise<[[JaxArray, ContrastiveAux], P]>;

/** One dispatcher per GPUDevice, shared by every step on that device. */
const dispatchers = new WeakMap<GPUDevice, Promise<ContrastiveLoss>>();

/** jax-js's WebGPU device, or a clear error when its webgpu backend is not running. */
function jaxDevice(): GPUDevice {
  try {
    return getWebGPUDevice();
  } catch (e) {
    throw new Error(
      `contrastiveValueAndGrad needs jax-js's 'webgpu' backend (await init('webgpu'); defaultDevice('webgpu')): ${(e as Error).message}`,
    );
  }
}

/**
 * The fused-loss dispatcher on jax-js's WebGPU device (created on first use, then cached).
 * Useful for memory accounting (`liveBufferCount`, `currentBytes`); the adapter owns it: do
 * not destroy it, call {@link releaseJaxContrastiveLoss}.
 */
export function jaxContrastiveLoss(): Promise<ContrastiveLoss> {
  const device = jaxDevice();
  let cl = dispatchers.get(device);
  if (!cl) {
    cl = ContrastiveLoss.create({ device });
    dispatchers.set(device, cl);
    // A failed compile must not stay cached.
    cl.catch(() => dispatchers.delete(device));
  }
  return cl;
}

/** Destroy the cached dispatcher of jax-js's device; the next step creates a new one. */
export async function releaseJaxContrastiveLoss(): Promise<void> {
  const device = jaxDevice();
  const cl = dispatchers.get(device);
  if (!cl) return;
  dispatchers.delete(device);
  (await cl).destroy();
}

/** Throws a clear error unless `views` is a pair of 2-D float32 webgpu arrays of one shape. */
function checkViews(views: unknown): [number, number] {
  if (!Array.isArray(views) || views.length !== 2) {
    throw new TypeError(`contrastiveValueAndGrad: encode must return the two views [z1, z2], got ${describe(views)}`);
  }
  const [z1, z2] = views as unknown[];
  for (const [name, z] of [['z1', z1], ['z2', z2]] as const) {
    if (!(z instanceof JaxArray)) throw new TypeError(`contrastiveValueAndGrad: ${name} must be a jax-js Array, got ${describe(z)}`);
    if (z.ndim !== 2) throw new RangeError(`contrastiveValueAndGrad: ${name} must be 2-D (N×D), got shape [${z.shape}]`);
    if (z.dtype !== 'float32') throw new TypeError(`contrastiveValueAndGrad: ${name} must be float32, got ${z.dtype}`);
    if (z.device !== 'webgpu') {
      throw new Error(
        `contrastiveValueAndGrad: ${name} lives on jax-js's '${z.device}' device; the fused loss runs on 'webgpu' ` +
          `(defaultDevice('webgpu'), or devicePut the parameters and inputs there)`,
      );
    }
  }
  const a = z1 as JaxArray;
  const b = z2 as JaxArray;
  if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1]) {
    throw new RangeError(`contrastiveValueAndGrad: z1 and z2 must have the same shape, got [${a.shape}] and [${b.shape}]`);
  }
  return [a.shape[0]!, a.shape[1]!];
}

function describe(v: unknown): string {
  if (v instanceof JaxArray) return `an array of shape [${v.shape}]`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return v === null ? 'null' : typeof v;
}

/** Outputs that loss options add (docs/FORMULAS.md: temperature gradient, diagnostics, SigLIP's bias gradient), by the option that asks for them. */
type ExtraOutput = 'gradTemperature' | 'diagnostics' | 'gradBias';
/** What the adapter hands the dispatcher to write into. */
type StepOutputs = Partial<LossOutputs> & Partial<Record<ExtraOutput, GPUBuffer>>;

/** The extra outputs the options ask for, with the size in floats of each. */
function extraOutputs(options: JaxLossOptions): [ExtraOutput, number][] {
  const asked = options as JaxLossOptions & Partial<Record<ExtraOutput, boolean>>;
  const extras: [ExtraOutput, number][] = [];
  if (asked.gradTemperature) extras.push(['gradTemperature', 1]);
  if (asked.diagnostics) extras.push(['diagnostics', 4]);
  if (asked.gradBias) extras.push(['gradBias', 1]);
  return extras;
}

/**
 * A jax-js float32 array of `shape` that owns its buffer alone, and that buffer. Filled with
 * NaN, so that anything the kernels fail to write shows as NaN rather than as a plausible value.
 */
async function ownedOutput(shape: number[]): Promise<[JaxArray, GPUBuffer]> {
  const arr = np.full(shape, NaN, { dtype: np.float32, device: 'webgpu' });
  return [arr, await arr.ref.gpuBuffer()];
}

/**
 * jax's `value_and_grad` for an encoder followed by a fused contrastive loss: returns an async
 * step `(params, ...args) => Promise<[loss, grads]>`. `encode(params, ...args)` returns the two
 * views `[z1, z2]` (float32 jax-js arrays, N×D, on the webgpu device); `loss` is a jax-js scalar
 * array (nothing is read back inside the step) and `grads` has the tree structure of `params`
 * (gradients with respect to `params` only, like `valueAndGrad`'s default `argnums: 0`).
 *
 * Ownership, as `valueAndGrad`: the step consumes `params` and every array in `args` (pass
 * `tree.ref(params)` / `x.ref` to keep them); the caller owns `loss` and `grads` (and `aux`).
 * When the step throws, what it consumed stays consumed.
 *
 * Every dispatcher option passes through unchanged, except the two the adapter hands over as
 * GPU buffers: supcon's `labels` (an `Int32Array`, or a jax-js int32 array of shape [N]; either
 * is realized into a jax-js buffer for the fused kernels to read) and siglip's `bias` when it is a
 * jax-js float32 scalar (read on the GPU as `biasParams`, so a learned b needs no read-back; a
 * number passes through). A jax-js array in `options` is borrowed, not consumed: the step reads it
 * on every call ({@link JaxLossOptions}). Labels that change per batch: make a step per batch
 * (cheap: the dispatcher is cached per device, and a `jit` encoder keeps its own cache).
 *
 * Views that are not 2-D float32 webgpu arrays of one shape, labels of another length than N,
 * jax-js without its webgpu backend, or a dispatcher on another device give clear errors before
 * any fused dispatch, as do bad loss options (an option the loss does not read among them). A
 * validation or out-of-memory error WebGPU reports for the fused work rejects the step.
 *
 * @param encode The encoder (plain or `jit`-compiled): `(params, ...args) => [z1, z2]`.
 * @param options The loss and its hyper-parameters (as for `ContrastiveLoss.encode`, with the
 *   jax-js forms of `labels` and `bias` above).
 * @param adapterOptions `dispatcher` to run on, `aux: true` for per-anchor losses and extras.
 *
 * @example
 * ```ts
 * import { init, defaultDevice, numpy as np, tree } from '@jax-js/jax';
 * import { contrastiveValueAndGrad } from 'webgpu-contrastive/jax';
 * await init('webgpu'); defaultDevice('webgpu');
 * const step = contrastiveValueAndGrad((p, x1, x2) => [np.matmul(x1, p.W.ref), np.matmul(x2, p.W)], { loss: 'dcl' });
 * const [loss, grads] = await step(tree.ref(params), x1.ref, x2.ref);
 *
 * // SupCon on a labelled batch (y: int32 [N]); SigLIP with ∂L/∂b for a learned bias.
 * const supcon = contrastiveValueAndGrad(encoder, { loss: 'supcon', labels: y, temperature: 0.1 });
 * const siglip = contrastiveValueAndGrad(encoder, { loss: 'siglip', bias: -10, gradBias: true }, { aux: true });
 * const [[l, { gradBias }], g] = await siglip(tree.ref(params), x1.ref, x2.ref);
 * ```
 */
export function contrastiveValueAndGrad<P extends JsTree<JaxArray>, A extends unknown[]>(
  encode: ContrastiveEncoder<P, A>,
  options: JaxLossOptions,
  adapterOptions?: ContrastiveValueAndGradOptions & { aux?: false },
): ContrastiveStep<P, A>;
export function contrastiveValueAndGrad<P extends JsTree<JaxArray>, A extends unknown[]>(
  encode: ContrastiveEncoder<P, A>,
  options: JaxLossOptions,
  adapterOptions: ContrastiveValueAndGradOptions & { aux: true },
): ContrastiveStepWithAux<P, A>;
export function contrastiveValueAndGrad<P extends JsTree<JaxArray>, A extends unknown[]>(
  encode: ContrastiveEncoder<P, A>,
  options: JaxLossOptions,
  adapterOptions: ContrastiveValueAndGradOptions = {},
): ContrastiveStep<P, A> | ContrastiveStepWithAux<P, A> {
  if (typeof encode !== 'function') throw new TypeError('contrastiveValueAndGrad: encode must be a function (params, ...args) => [z1, z2]');
  const resolved = resolveJaxOptions(options, 'contrastiveValueAndGrad');
  const { labels, bias, ...passedThrough } = options;
  for (const [name, arr] of [['labels', labels], ['bias', bias]] as const) {
    if (arr instanceof JaxArray && arr.device !== 'webgpu') {
      throw new Error(`contrastiveValueAndGrad: ${name} lives on jax-js's '${arr.device}' device; the fused loss reads it on 'webgpu' (devicePut it there)`);
    }
  }
  const gpuBias = bias instanceof JaxArray ? bias : undefined;
  // One loss per anchor: both directions (2N); N for the rows of z1 against a bank, and for siglip (per image).
  const perAnchorRows = (n: number) => (options.bank !== undefined || resolved.loss === 'siglip' ? n : 2 * n);
  const wantAux = adapterOptions.aux === true;

  const step = async (params: P, ...args: A): Promise<[JaxArray, P] | [[JaxArray, ContrastiveAux], P]> => {
    let cl: ContrastiveLoss;
    try {
      const device = jaxDevice();
      cl = adapterOptions.dispatcher ?? (await jaxContrastiveLoss());
      if (cl.device !== device) {
        throw new Error(
          'contrastiveValueAndGrad: the dispatcher runs on a different GPUDevice than jax-js; create it with ' +
            'ContrastiveLoss.create({ device: getWebGPUDevice() }) or leave `dispatcher` out',
        );
      }
    } catch (e) {
      tree.dispose(params);
      tree.dispose(args);
      throw e;
    }

    const [views, pullback] = vjp((p: P) => encode(p, ...args), [params] as never) as unknown as [unknown, ((ct: [JaxArray, JaxArray]) => [P]) & { dispose(): void }];
    const owned: JaxArray[] = []; // arrays to dispose if the step fails
    let n: number;
    let d: number;
    try {
      [n, d] = checkViews(views);
      if (labels !== undefined) checkLabelsLength(labels, n, 'contrastiveValueAndGrad');
    } catch (e) {
      tree.dispose(views as JsTree<JaxArray>);
      pullback.dispose();
      throw e;
    }
    const [z1, z2] = views as [JaxArray, JaxArray];
    // Arrays whose buffers the fused work reads: disposed right after its submit.
    const read: JaxArray[] = [z1, z2];
    const realize = async (arr: JaxArray) => {
      read.push(arr);
      return arr.ref.gpuBuffer();
    };
    let loss: JaxArray | undefined;
    let grads: P | undefined;
    const aux: Partial<ContrastiveAux> = {};
    try {
      const outputs: StepOutputs = {};
      const output = async (shape: number[]) => {
        const [arr, buffer] = await ownedOutput(shape);
        owned.push(arr);
        return [arr, buffer] as const;
      };
      let gz1: JaxArray;
      let gz2: JaxArray;
      [loss, outputs.loss] = await output([]);
      [aux.perAnchor, outputs.perAnchor] = await output([perAnchorRows(n)]);
      [gz1, outputs.gradZ1] = await output([n, d]);
      [gz2, outputs.gradZ2] = await output([n, d]);
      const extras = extraOutputs(options);
      for (const [name, size] of extras) [aux[name], outputs[name]] = await output([size]);
      const stepOptions: LossOptions = { ...passedThrough };
      if (labels instanceof Int32Array || labels instanceof JaxArray) stepOptions.labels = await realize(labelsArray(labels, 'webgpu'));
      else if (labels !== undefined) stepOptions.labels = labels; // the caller's GPUBuffer
      if (typeof bias === 'number') stepOptions.bias = bias;
      const biasParams = gpuBias && (await realize(gpuBias.ref));
      // Realize the views last: nothing jax-js allocates from here on can reuse their buffers.
      const bz1 = await z1.ref.gpuBuffer();
      const bz2 = await z2.ref.gpuBuffer();

      const device = cl.device;
      const encoder = device.createCommandEncoder({ label: 'webgpu-contrastive jax step' });
      const out: StepOutputs = cl.encode(encoder, { z1: bz1, z2: bz2, n, d, options: stepOptions, backward: true, outputs, ...(biasParams ? { biasParams } : {}) });
      for (const [name] of extras) {
        if (out[name] !== outputs[name]) {
          throw new Error(`contrastiveValueAndGrad: this dispatcher does not produce '${name}' (option ${name}: true)`);
        }
      }
      // Outputs the dispatcher made itself (options this adapter does not know yet) are ours to destroy.
      const handedOver = (Object.values(out) as GPUBuffer[]).filter((b) => !(Object.values(outputs) as GPUBuffer[]).includes(b));
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      device.queue.submit([encoder.finish()]);
      const validation = device.popErrorScope();
      const oom = device.popErrorScope();
      for (const b of handedOver) b.destroy();
      // After the submit: jax-js may reuse the views' (and labels', bias's) buffers only for work it submits later.
      for (const arr of read.splice(0)) arr.dispose();
      owned.splice(owned.indexOf(gz1), 1);
      owned.splice(owned.indexOf(gz2), 1);
      [grads] = pullback([gz1, gz2]);
      const error = (await validation) ?? (await oom);
      if (error) throw new Error(`contrastiveValueAndGrad: WebGPU rejected the fused loss: ${error.message}`);
    } catch (e) {
      for (const arr of [...owned, ...read]) arr.dispose();
      tree.dispose(grads);
      throw e;
    } finally {
      pullback.dispose();
    }
    if (wantAux) return [[loss!, aux as ContrastiveAux], grads!];
    for (const arr of Object.values(aux)) arr.dispose();
    return [loss!, grads!];
  };
  // Which of the two the caller gets is fixed by `aux` (the overloads above).
  return step as ContrastiveStep<P, A> & ContrastiveStepWithAux<P, A>;
}
