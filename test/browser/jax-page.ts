/**
 * Page functions for the jax-js adapter tests (test/jax.test.ts in Chromium, test/jax-node.test.ts
 * in Node on Dawn: one body for both, so nothing here touches the DOM, only `navigator.gpu`).
 *
 * The encoder is a two-layer MLP, z = tanh(x·W1 + b1)·W2, with three parameter arrays. Its
 * inputs and weights come from the Node side (seeded there), so a failure reproduces.
 */
import {
  Array as JaxArray,
  defaultDevice,
  getWebGPUDevice,
  init,
  jit,
  numpy as np,
  tree,
  valueAndGrad,
  vjp,
} from '@jax-js/jax';
import { ContrastiveLoss } from '../../src/contrastive-loss.js';
import { contrastiveValueAndGrad, jaxContrastiveLoss, type ContrastiveEncoder } from '../../src/jax/value-and-grad.js';
import { jaxOpsLoss } from '../../src/jax/ops-losses.js';
import type { JaxLossOptions } from '../../src/jax/loss-options.js';
import { referenceLoss } from '../../src/reference/index.js';
import type { LossOptions } from '../../src/options.js';
import type { ThirdWaveOptions } from './third-wave-page.js';

/** The encoder's parameters as plain arrays (row-major). */
export interface MlpWeights {
  W1: Float32Array;
  b1: Float32Array;
  W2: Float32Array;
}

/** Sizes of one test batch: N samples of width `din`, hidden width `hidden`, embeddings of width D. */
export interface MlpShape {
  n: number;
  din: number;
  hidden: number;
  d: number;
}

type Mlp = { W1: JaxArray; b1: JaxArray; W2: JaxArray };

/**
 * How the views are produced: `plain` runs the MLP on each view; `jit` is the same encoder
 * `jit`-compiled; `jit-sliced` (jit) runs the MLP once on [x1; x2] and returns two row slices
 * of one matrix (the second at an offset, which `gpuBuffer()` must realize into its own buffer).
 */
export type EncoderMode = 'plain' | 'jit' | 'jit-sliced';

let ready: Promise<string> | undefined;
/** Start jax-js's webgpu backend once and make it the default; resolves to the adapter's name. */
export function jaxReady(): Promise<string> {
  ready ??= (async () => {
    const devices = await init('webgpu');
    if (!devices.includes('webgpu')) throw new Error(`jax-js started no webgpu backend (got ${devices.join(', ')})`);
    defaultDevice('webgpu');
    const info = getWebGPUDevice().adapterInfo;
    return `${info?.vendor ?? ''} ${info?.description || info?.architecture || info?.device || ''}`.trim();
  })();
  return ready;
}

function mlp(p: Mlp, x: JaxArray): JaxArray {
  return np.matmul(np.tanh(np.matmul(x, p.W1).add(p.b1)), p.W2);
}

function encoderFor(mode: EncoderMode, n: number): ContrastiveEncoder<Mlp, [JaxArray, JaxArray]> & { dispose?: () => void } {
  const plain = (p: Mlp, x1: JaxArray, x2: JaxArray): [JaxArray, JaxArray] => [mlp(tree.ref(p), x1), mlp(p, x2)];
  if (mode === 'plain') return plain;
  if (mode === 'jit') return jit(plain) as never;
  return jit((p: Mlp, x1: JaxArray, x2: JaxArray) => {
    const z = mlp(p, np.concatenate([x1, x2], 0));
    return [z.ref.slice([0, n]), z.slice([n, 2 * n])];
  }) as never;
}

function weights(w: MlpWeights, s: MlpShape): Mlp {
  return {
    W1: np.array(w.W1).reshape([s.din, s.hidden]),
    b1: np.array(w.b1),
    W2: np.array(w.W2).reshape([s.hidden, s.d]),
  };
}

async function read(p: Mlp): Promise<MlpWeights> {
  return { W1: (await p.W1.data()) as Float32Array, b1: (await p.b1.data()) as Float32Array, W2: (await p.W2.data()) as Float32Array };
}

/**
 * The form in which supcon's labels and siglip's bias reach the adapter: `labels` an Int32Array
 * or a jax-js int32 array; `bias` a number or a jax-js float32 scalar (read on the GPU).
 */
export interface JaxOptionForms {
  labels?: 'Int32Array' | 'jax';
  bias?: 'number' | 'jax';
}

/**
 * `options` as crossed the page boundary (labels as numbers), in the jax-js forms `forms` asks
 * for, and the arrays made for them (the caller disposes them).
 */
function jaxOptions(options: ThirdWaveOptions, forms: JaxOptionForms): { options: JaxLossOptions; arrays: JaxArray[] } {
  const { labels, bias, ...rest } = options;
  const out: JaxLossOptions = { ...rest };
  const arrays: JaxArray[] = [];
  if (labels) out.labels = forms.labels === 'jax' ? np.array(Int32Array.from(labels), { dtype: np.int32 }) : Int32Array.from(labels);
  if (bias !== undefined) out.bias = forms.bias === 'jax' ? np.full([], bias, { dtype: np.float32 }) : bias;
  for (const v of [out.labels, out.bias]) if (v instanceof JaxArray) arrays.push(v);
  return { options: out, arrays };
}

/** What {@link jaxStepCompare} measured, all read back after the fact. */
export interface StepComparison {
  /** The fused step's loss and parameter gradients. */
  loss: number;
  grads: MlpWeights;
  /** The step's per-anchor losses (aux output). */
  perAnchor: Float32Array;
  /** The views the encoder produced (fed to the float64 reference on the Node side too). */
  z1: Float32Array;
  z2: Float32Array;
  /** The reference's ∂L/∂z (float64, rounded to f32) pulled back through jax-js's own `vjp`. */
  refGrads: MlpWeights;
  /** `valueAndGrad` of {@link jaxOpsLoss} ∘ encoder: the jax-js-ops baseline. */
  baselineLoss: number;
  baselineGrads: MlpWeights;
  /** refCount of the caller's parameter arrays after the step (the step consumed one reference). */
  paramRefCounts: number[];
  /** aux.gradTemperature and aux.gradBias, when the options ask for them. */
  gradTemperature?: number;
  gradBias?: number;
  /** refCount of jax-js labels/bias arrays in the options after the step and the baseline (borrowed: 1). */
  optionRefCounts: number[];
}

/**
 * One fused step of the MLP encoder and the loss `options`, the reference's gradient pulled
 * back through the same encoder, and the jax-js-ops baseline, on the same inputs.
 */
export async function jaxStepCompare(
  x1: Float32Array,
  x2: Float32Array,
  w: MlpWeights,
  s: MlpShape,
  pageOptions: ThirdWaveOptions,
  mode: EncoderMode,
  forms: JaxOptionForms = {},
): Promise<StepComparison> {
  await jaxReady();
  const X1 = np.array(x1).reshape([s.n, s.din]);
  const X2 = np.array(x2).reshape([s.n, s.din]);
  const params = weights(w, s);
  const encode = encoderFor(mode, s.n);
  const { options, arrays } = jaxOptions(pageOptions, forms);
  const refOptions = { ...pageOptions, ...(pageOptions.labels ? { labels: Int32Array.from(pageOptions.labels) } : {}) } as LossOptions;
  try {
    const step = contrastiveValueAndGrad(encode, options, { aux: true });
    const [[loss, aux], grads] = await step(tree.ref(params), X1.ref, X2.ref);
    const paramRefCounts = [params.W1.refCount, params.b1.refCount, params.W2.refCount];
    const lossValue = (await loss.data())[0]!;
    const perAnchor = (await aux.perAnchor.data()) as Float32Array;
    const gradTemperature = aux.gradTemperature && (await aux.gradTemperature.data())[0]!;
    const gradBias = aux.gradBias && (await aux.gradBias.data())[0]!;
    const stepGrads = await read(grads);

    // The reference on the same z, pulled back through jax-js's vjp of the same encoder.
    const [views, pullback] = vjp((p: Mlp) => encode(p, X1.ref, X2.ref), [tree.ref(params)] as never) as unknown as [
      [JaxArray, JaxArray],
      ((ct: [JaxArray, JaxArray]) => [Mlp]) & { dispose(): void },
    ];
    const z1 = (await views[0].data()) as Float32Array;
    const z2 = (await views[1].data()) as Float32Array;
    const ref = referenceLoss(z1, z2, s.n, s.d, refOptions);
    const [refPulled] = pullback([
      np.array(Float32Array.from(ref.gradZ1)).reshape([s.n, s.d]),
      np.array(Float32Array.from(ref.gradZ2)).reshape([s.n, s.d]),
    ]);
    pullback.dispose();
    const refGrads = await read(refPulled);

    const baseline = valueAndGrad((p: Mlp) => {
      const [a, b] = encode(p, X1.ref, X2.ref);
      return jaxOpsLoss(a, b, options);
    });
    const [bLoss, bGrads] = baseline(tree.ref(params)) as unknown as [JaxArray, Mlp];
    const baselineLoss = (await bLoss.data())[0]!;
    const baselineGrads = await read(bGrads);
    const optionRefCounts = arrays.map((a) => a.refCount);
    return { loss: lossValue, grads: stepGrads, perAnchor, z1, z2, refGrads, baselineLoss, baselineGrads, paramRefCounts, gradTemperature, gradBias, optionRefCounts };
  } finally {
    for (const a of arrays) a.dispose();
    tree.dispose(params);
    X1.dispose();
    X2.dispose();
    encode.dispose?.();
  }
}

/** Counters at one point of a training loop. */
export interface LoopSnapshot {
  step: number;
  /** GPU buffers alive on jax-js's device that were created after the loop started (created − destroyed). */
  deviceBuffers: number;
  /** The dispatcher's own counters. */
  dispatcherBuffers: number;
  dispatcherBytes: number;
  /** jax-js's refCount of each parameter array the loop holds (1 = only the loop's own reference). */
  paramRefCounts: number[];
}

/** What {@link jaxTrainingLoop} observed. */
export interface LoopReport {
  /** Loss at the first step and at the last. */
  lossFirst: number;
  lossLast: number;
  /** Snapshots after `warmup` steps and after the last. */
  afterWarmup: LoopSnapshot;
  afterLast: LoopSnapshot;
  /** mapAsync calls made while the steps ran (reads of the two checkpoint losses excluded). */
  mapCalls: number;
  msPerStep: number;
}

/**
 * `steps` SGD steps (learning rate `lr`) of the MLP encoder under the fused loss, on one batch.
 * Counts GPU buffers created and destroyed on jax-js's device (its `createBuffer` wrapped),
 * the dispatcher's buffers and the parameters' refCounts, after `warmup` steps and at the end,
 * and every `mapAsync` call made during the steps.
 */
export async function jaxTrainingLoop(
  x1: Float32Array,
  x2: Float32Array,
  w: MlpWeights,
  s: MlpShape,
  options: LossOptions,
  mode: EncoderMode,
  steps: number,
  warmup: number,
  lr: number,
): Promise<LoopReport> {
  await jaxReady();
  const device = getWebGPUDevice();
  const cl = await jaxContrastiveLoss();
  let live = 0;
  const createBuffer = device.createBuffer;
  device.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = createBuffer.call(this, descriptor);
    live++;
    const destroy = buffer.destroy;
    let destroyed = false;
    buffer.destroy = function (this: GPUBuffer) {
      if (!destroyed) live--;
      destroyed = true;
      return destroy.call(this);
    };
    return buffer;
  };
  const mapAsync = GPUBuffer.prototype.mapAsync;
  let mapCalls = 0;
  const X1 = np.array(x1).reshape([s.n, s.din]);
  const X2 = np.array(x2).reshape([s.n, s.din]);
  let params = weights(w, s);
  const encode = encoderFor(mode, s.n);
  const step = contrastiveValueAndGrad(encode, options);
  const snapshot = (i: number): LoopSnapshot => ({
    step: i,
    deviceBuffers: live,
    dispatcherBuffers: cl.liveBufferCount,
    dispatcherBytes: cl.currentBytes,
    paramRefCounts: [params.W1.refCount, params.b1.refCount, params.W2.refCount],
  });
  let lossFirst = NaN;
  let lossLast = NaN;
  let afterWarmup: LoopSnapshot | undefined;
  const t0 = performance.now();
  try {
    GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
      mapCalls++;
      return mapAsync.apply(this, args);
    };
    for (let i = 1; i <= steps; i++) {
      const [loss, grads] = await step(tree.ref(params), X1.ref, X2.ref);
      const next = tree.map((p: JaxArray, g: JaxArray) => p.sub(g.mul(lr)), params, grads) as Mlp;
      params = next;
      if (i === 1 || i === steps) {
        GPUBuffer.prototype.mapAsync = mapAsync;
        const value = (await loss.data())[0]!;
        GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
          mapCalls++;
          return mapAsync.apply(this, args);
        };
        if (i === 1) lossFirst = value;
        else lossLast = value;
      } else {
        loss.dispose();
      }
      if (i === warmup) {
        await device.queue.onSubmittedWorkDone();
        afterWarmup = snapshot(i);
      }
    }
    await device.queue.onSubmittedWorkDone();
    const afterLast = snapshot(steps);
    return { lossFirst, lossLast, afterWarmup: afterWarmup!, afterLast, mapCalls, msPerStep: (performance.now() - t0) / steps };
  } finally {
    GPUBuffer.prototype.mapAsync = mapAsync;
    device.createBuffer = createBuffer;
    tree.dispose(params);
    X1.dispose();
    X2.dispose();
    encode.dispose?.();
  }
}

/** One error case: the message the step threw ('' if it did not), and what it left behind. */
export interface ErrorCase {
  name: string;
  message: string;
  /** Calls of the dispatcher's `encode` made by the failing step (0: it failed before any dispatch). */
  encodeCalls: number;
  /** refCount of the caller's parameter arrays afterwards (the step consumed its reference). */
  paramRefCounts: number[];
}

/**
 * The step's errors: views of the wrong rank, dtype, shape mismatch, or not a pair; views on
 * jax-js's `wasm` device; a dispatcher on another GPUDevice; bad loss options; supcon's labels
 * missing, of the wrong length or dtype; a bias given to another loss than siglip.
 */
export async function jaxStepErrors(w: MlpWeights, s: MlpShape): Promise<ErrorCase[]> {
  await jaxReady();
  const cl = await jaxContrastiveLoss();
  let encodeCalls = 0;
  const encode = cl.encode;
  cl.encode = function (this: ContrastiveLoss, ...args: Parameters<ContrastiveLoss['encode']>) {
    encodeCalls++;
    return encode.apply(this, args);
  } as ContrastiveLoss['encode'];
  const params = weights(w, s);
  const x = np.array(new Float32Array(s.n * s.din).fill(0.25)).reshape([s.n, s.din]);
  const cases: ErrorCase[] = [];
  const run = async (name: string, body: () => Promise<unknown>) => {
    encodeCalls = 0;
    let message = '';
    try {
      const r = await body();
      tree.dispose(r as never);
    } catch (e) {
      message = (e as Error).message;
    }
    cases.push({ name, message, encodeCalls, paramRefCounts: [params.W1.refCount, params.b1.refCount, params.W2.refCount] });
  };
  const z = (p: Mlp, x0: JaxArray) => mlp(p, x0);
  let otherDevice: GPUDevice | undefined;
  try {
    // Each view from its own MLP call: jax-js 0.1.25's vjp fails ('Invalid atom type') when one
    // output of the function is also an input of another output's computation.
    const pair = (p: Mlp, a: JaxArray): [JaxArray, JaxArray] => [z(tree.ref(p), a.ref), z(p, a)];
    const step = (f: (p: Mlp, a: JaxArray) => unknown, adapterOptions = {}, options: JaxLossOptions = { loss: 'dcl' }) =>
      contrastiveValueAndGrad(f as ContrastiveEncoder<Mlp, [JaxArray]>, options, adapterOptions);
    await run('1-D views', () => step((p, a) => pair(p, a).map((v) => v.reshape([s.n * s.d])))(tree.ref(params), x.ref));
    await run('float16 views', () => step((p, a) => pair(p, a).map((v) => v.astype(np.float16)))(tree.ref(params), x.ref));
    await run('shapes differ', () =>
      step((p, a) => {
        const [v1, v2] = pair(p, a);
        return [v1, v2.slice([0, s.n - 1])];
      })(tree.ref(params), x.ref),
    );
    await run('not a pair', () => step((p, a) => [z(p, a)])(tree.ref(params), x.ref));
    await run('views on wasm', async () => {
      const onWasm = (v: Float32Array, shape: number[]) => np.array(v, { device: 'wasm' }).reshape(shape);
      const wasmParams = { W1: onWasm(w.W1, [s.din, s.hidden]), b1: onWasm(w.b1, [s.hidden]), W2: onWasm(w.W2, [s.hidden, s.d]) };
      return step(pair)(wasmParams, onWasm(new Float32Array(s.n * s.din).fill(0.5), [s.n, s.din]));
    });
    const adapter = await navigator.gpu.requestAdapter();
    otherDevice = await adapter!.requestDevice();
    const other = { device: otherDevice } as ContrastiveLoss; // only its device is looked at before the check
    await run('dispatcher on another device', () => step(pair, { dispatcher: other })(tree.ref(params), x.ref));
    await run('unknown loss', async () => contrastiveValueAndGrad(pair, { loss: 'nope' } as never));
    await run('temperature ≤ 0', async () => contrastiveValueAndGrad(pair, { loss: 'dcl', temperature: 0 }));
    await run('supcon without labels', async () => contrastiveValueAndGrad(pair, { loss: 'supcon' }));
    await run('labels of length N + 1', () => step(pair, {}, { loss: 'supcon', labels: new Int32Array(s.n + 1) })(tree.ref(params), x.ref));
    const floatLabels = np.zeros([s.n], { dtype: np.float32 });
    await run('float32 jax labels', async () => contrastiveValueAndGrad(pair, { loss: 'supcon', labels: floatLabels }));
    floatLabels.dispose();
    await run('bias with supcon', async () => contrastiveValueAndGrad(pair, { loss: 'supcon', labels: new Int32Array(s.n), bias: 0 }));
    // Control: the same kind of call succeeds when nothing is wrong.
    await run('valid (control)', () => step(pair)(tree.ref(params), x.ref));
    return cases;
  } finally {
    cl.encode = encode;
    otherDevice?.destroy();
    tree.dispose(params);
    x.dispose();
  }
}
