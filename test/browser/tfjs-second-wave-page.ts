/**
 * Page functions for the tfjs op's second-wave options (test/tfjs-second-wave.test.ts): τ as a
 * tensor with its gradient, `negatives`, a bank tensor or a NegativeQueue as the bank, the
 * diagnostics accessor, a CLIP-style training loop that learns τ (watched for read-backs), and
 * the option errors. Options travel over the RPC as plain data; tensors are made here.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { contrastiveLoss, contrastiveLossDiagnostics, contrastiveLossDispatcher } from '../../src/tfjs/contrastive-loss-op.js';
import type { TfjsLossOptions } from '../../src/tfjs/op-options.js';
import { tfjsOpsLoss } from '../../src/tfjs/ops-losses.js';
import { enqueueKeys } from '../../src/tfjs/queue.js';
import { NegativeQueue } from '../../src/negative-queue.js';
import type { LossOptions } from '../../src/options.js';
import { errorRecorder, readBack } from './gpu-io.js';

/** Plain-data options: τ as a number (made a tensor when `tauTensor`), the bank as K×D values. */
export interface WireOptions extends Omit<LossOptions, 'bank' | 'labels'> {
  bank?: Float32Array;
  /** Pass τ as a scalar tensor (a tf.Variable), so its gradient flows. */
  tauTensor?: boolean;
}

/** A scalar tf.Variable (disposing the initial tensor, which tf.variable does not own). */
export function variableScalar(value: number): tf.Variable {
  const init = tf.scalar(value);
  const v = tf.variable(init);
  init.dispose();
  return v;
}

async function webgpu(): Promise<void> {
  if (tf.getBackend() !== 'webgpu') {
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
    await tf.ready();
  }
}

/** Loss, gradients (z1, z2 and τ when a tensor) and diagnostics of one call, read back. */
export interface SecondWaveGrads {
  loss: number;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
  gradTemperature?: number;
  diagnostics?: Float32Array;
}

/** What {@link tfjsSecondWaveCompare} returns. */
export interface SecondWaveComparison {
  op: SecondWaveGrads;
  baseline: SecondWaveGrads;
  /** The op outside a gradient scope. */
  forwardOnlyLoss: number;
  /** The bank read back after the calls equals what was uploaded. */
  bankUnchanged: boolean;
}

function toTfjsOptions(o: WireOptions, tau?: tf.Variable, bank?: tf.Tensor2D): TfjsLossOptions {
  const { bank: _b, tauTensor: _t, temperature, ...rest } = o;
  return { ...rest, ...(tau ? { temperature: tau } : temperature !== undefined ? { temperature } : {}), ...(bank ? { bank } : {}) };
}

async function gradsOf(
  f: (a: tf.Tensor2D, b: tf.Tensor2D, t?: tf.Variable) => tf.Scalar,
  t1: tf.Tensor2D,
  t2: tf.Tensor2D,
  tau: tf.Variable | undefined,
): Promise<SecondWaveGrads> {
  const xs = tau ? [t1, t2, tau] : [t1, t2];
  const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => f(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, tau))(xs);
  try {
    const data = await Promise.all([value.data(), ...grads.map((g) => g.data())]);
    return {
      loss: data[0]![0]!,
      gradZ1: data[1] as Float32Array,
      gradZ2: data[2] as Float32Array,
      ...(tau ? { gradTemperature: data[3]![0]! } : {}),
    };
  } finally {
    tf.dispose([value, ...grads]);
  }
}

/**
 * The op and the plain-ops baseline with the same second-wave options: value and tf.grads
 * (z1, z2, and τ when `tauTensor`: the op's gradient of τ comes from the kernel's
 * gradTemperature output, the baseline's from tf.grad through its ops), the diagnostics tensor
 * when asked, a forward-only value, the bank unchanged, no tensor left behind.
 */
export async function tfjsSecondWaveCompare(z1: Float32Array, z2: Float32Array, n: number, d: number, o: WireOptions): Promise<SecondWaveComparison> {
  await webgpu();
  const t1 = tf.tensor2d(z1, [n, d]);
  const t2 = tf.tensor2d(z2, [n, d]);
  const bank = o.bank ? tf.tensor2d(o.bank, [o.bank.length / d, d]) : undefined;
  const tauValue = o.temperature;
  const tau = o.tauTensor ? variableScalar(tauValue ?? NaN) : undefined;
  try {
    // τ itself is an input of tf.valueAndGrads (not a trainable-variable lookup): wrap it.
    const withTau = (t?: tf.Variable) => toTfjsOptions(o, t, bank);
    const op = await gradsOf((a, b, t) => contrastiveLoss(a, b, withTau(t)), t1, t2, tau);
    const diag = contrastiveLossDiagnostics();
    if (diag) {
      op.diagnostics = (await diag.data()) as Float32Array;
      diag.dispose();
    }
    const { diagnostics: _d, ...baselineOptions } = withTau(tau);
    const baseline = await gradsOf((a, b, t) => tfjsOpsLoss(a, b, { ...baselineOptions, ...(t ? { temperature: t } : {}) }), t1, t2, tau);
    const fwd = contrastiveLoss(t1, t2, withTau(tau));
    const forwardOnlyLoss = (await fwd.data())[0]!;
    fwd.dispose();
    contrastiveLossDiagnostics()?.dispose();
    const bankUnchanged = bank ? ((await bank.data()) as Float32Array).every((v, i) => Object.is(v, o.bank![i])) : true;
    return { op, baseline, forwardOnlyLoss, bankUnchanged };
  } finally {
    tf.dispose([t1, t2, ...(bank ? [bank] : []), ...(tau ? [tau] : [])]);
  }
}

/** Tensors alive after {@link tfjsSecondWaveCompare} minus before. */
export async function tfjsSecondWaveLeak(z1: Float32Array, z2: Float32Array, n: number, d: number, o: WireOptions): Promise<number> {
  await webgpu();
  const before = tf.memory().numTensors;
  await tfjsSecondWaveCompare(z1, z2, n, d, o);
  return tf.memory().numTensors - before;
}

/** What {@link tfjsLearnTemperature} observed. */
export interface LearnTemperatureReport {
  tauBefore: number;
  tauAfter: number;
  lossBefore: number;
  lossAfter: number;
  /** mapAsync calls (any mode) during the steps after warm-up; diagnostics on throughout. */
  mapCalls: number;
  /** tfjs tensors and the dispatcher's buffers after warm-up and after the last step. */
  tensorsAfterWarmup: number;
  tensorsAfterLast: number;
  dispatcherBuffersAfterWarmup: number;
  dispatcherBuffersAfterLast: number;
  /** The last step's diagnostics (read after the loop). */
  diagnostics: number[];
}

/**
 * CLIP in miniature: two linear towers (image x·Wi, text y·Wt) trained with `ntxent`,
 * `negatives: 'cross'`, and a learnable temperature parametrized as CLIP's
 * `logit_scale = log(1/τ)` (a tf.Variable; τ = exp(−logit_scale) is a tfjs op, so the op's τ
 * gradient flows on into it and τ stays positive), diagnostics on. Counts mapAsync calls after
 * warm-up (none allowed: τ never leaves the GPU).
 */
export async function tfjsLearnTemperature(steps: number, tau0: number, learningRate: number): Promise<LearnTemperatureReport> {
  await webgpu();
  const n = 16, din = 12, d = 8;
  const base = tf.randomNormal([n, din], 0, 1, 'float32', 21);
  const x = tf.add(base, tf.randomNormal([n, din], 0, 0.2, 'float32', 22)) as tf.Tensor2D;
  const y = tf.add(base, tf.randomNormal([n, din], 0, 0.2, 'float32', 23)) as tf.Tensor2D;
  base.dispose();
  const Wi = tf.variable(tf.randomNormal([din, d], 0, 0.3, 'float32', 24));
  const Wt = tf.variable(tf.randomNormal([din, d], 0, 0.3, 'float32', 25));
  const logitScale = variableScalar(Math.log(1 / tau0));
  const tauOf = () => tf.exp(tf.neg(logitScale)) as tf.Scalar;
  const optimizer = tf.train.adam(learningRate);
  const options = (diagnostics: boolean): TfjsLossOptions => ({ loss: 'ntxent', negatives: 'cross', temperature: tauOf(), diagnostics });
  const lossNow = async () => {
    const l = tf.tidy(() => contrastiveLoss(tf.matMul(x, Wi), tf.matMul(y, Wt), options(false)));
    const v = (await l.data())[0]!;
    l.dispose();
    return v;
  };
  const tauNow = async () => { const t = tauOf(); const v = (await t.data())[0]!; t.dispose(); return v; };
  const tauBefore = await tauNow();
  const lossBefore = await lossNow();
  const original = GPUBuffer.prototype.mapAsync;
  let mapCalls = 0;
  let tensorsAfterWarmup = 0, dispatcherBuffersAfterWarmup = 0;
  let diagnostics: tf.Tensor1D | undefined;
  try {
    for (let i = 1; i <= steps; i++) {
      optimizer.minimize(() => tf.tidy(() => contrastiveLoss(tf.matMul(x, Wi), tf.matMul(y, Wt), options(true))));
      diagnostics?.dispose();
      diagnostics = contrastiveLossDiagnostics();
      if (i === 5) {
        await contrastiveLossDispatcher().device.queue.onSubmittedWorkDone();
        tensorsAfterWarmup = tf.memory().numTensors;
        dispatcherBuffersAfterWarmup = contrastiveLossDispatcher().liveBufferCount;
        GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
          mapCalls++;
          return original.apply(this, args);
        };
      }
    }
  } finally {
    GPUBuffer.prototype.mapAsync = original;
  }
  const tensorsAfterLast = tf.memory().numTensors;
  const dispatcherBuffersAfterLast = contrastiveLossDispatcher().liveBufferCount;
  const diag = diagnostics ? Array.from(await diagnostics.data()) : [];
  diagnostics?.dispose();
  const tauAfter = await tauNow();
  const lossAfter = await lossNow();
  optimizer.dispose();
  tf.dispose([x, y, Wi, Wt, logitScale]);
  return {
    tauBefore, tauAfter, lossBefore, lossAfter, mapCalls, tensorsAfterWarmup, tensorsAfterLast,
    dispatcherBuffersAfterWarmup, dispatcherBuffersAfterLast, diagnostics: diag,
  };
}

/** What {@link tfjsMoCoQueue} returns. */
export interface MoCoQueueReport {
  /** The op's loss with `bank: queue.bank`, per step. */
  losses: number[];
  /** The queue's rows before each step (what that step's loss saw). */
  banksSeen: Float32Array[];
  /** The queue after the last step. */
  finalQueue: Float32Array;
  /** The keys enqueued at each step. */
  keys: Float32Array[];
}

/**
 * MoCo's loop with the tfjs op and a NegativeQueue: per step, the loss of (q, k) against
 * `queue.bank`, then `enqueueKeys(queue, k)`. Inputs are given per step (q, k: n×D).
 */
export async function tfjsMoCoQueue(
  k: number,
  d: number,
  initial: Float32Array,
  steps: { q: Float32Array; key: Float32Array; n: number }[],
  o: WireOptions,
): Promise<MoCoQueueReport> {
  await webgpu();
  const device = contrastiveLossDispatcher().device;
  const queue = NegativeQueue.create({ device, k, d, rows: initial });
  const losses: number[] = [];
  const banksSeen: Float32Array[] = [];
  try {
    for (const s of steps) {
      banksSeen.push((await readBack(device, [queue.buffer]))[0]!);
      const q = tf.tensor2d(s.q, [s.n, d]);
      const key = tf.tensor2d(s.key, [s.n, d]);
      const l = contrastiveLoss(q, key, { ...toTfjsOptions(o), bank: queue.bank });
      enqueueKeys(queue, key);
      losses.push((await l.data())[0]!);
      tf.dispose([q, key, l]);
    }
    const finalQueue = (await readBack(device, [queue.buffer]))[0]!;
    return { losses, banksSeen, finalQueue, keys: steps.map((s) => s.key) };
  } finally {
    queue.destroy();
  }
}

/** The messages of the op's option errors (thrown before anything runs). */
export async function tfjsSecondWaveErrors(): Promise<Record<string, string>> {
  await webgpu();
  const { out, attempt } = errorRecorder();
  const a = tf.randomNormal([4, 3]) as tf.Tensor2D;
  const b = tf.randomNormal([4, 3]) as tf.Tensor2D;
  const vec = tf.tensor1d([0.1, 0.2]);
  const intTau = tf.scalar(1, 'int32');
  const bank4 = tf.randomNormal([5, 4]) as tf.Tensor2D;
  const bank3 = tf.randomNormal([5, 3]) as tf.Tensor2D;
  const one = tf.randomNormal([1, 3]) as tf.Tensor2D;
  attempt('tauShape', () => contrastiveLoss(a, b, { loss: 'ntxent', temperature: vec }));
  attempt('tauDtype', () => contrastiveLoss(a, b, { loss: 'ntxent', temperature: intTau }));
  attempt('bankWidth', () => contrastiveLoss(a, b, { loss: 'dcl', bank: bank4 }));
  attempt('bankCross', () => contrastiveLoss(a, b, { loss: 'dcl', bank: bank3, negatives: 'cross' }));
  attempt('dualtempAll', () => contrastiveLoss(a, b, { loss: 'dualtemp', negatives: 'all' }));
  attempt('gradTemperatureNumber', () => contrastiveLoss(a, b, { loss: 'dcl', temperature: 0.1, gradTemperature: true }));
  attempt('oneRowNoBank', () => contrastiveLoss(one, one, { loss: 'dcl' }));
  attempt('oneRowWithBank', () => contrastiveLoss(one, one, { loss: 'dcl', bank: bank3 }));
  tf.dispose([a, b, vec, intTau, bank4, bank3, one]);
  return out;
}
