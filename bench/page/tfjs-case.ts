/**
 * The tfjs paths, timed on the WebGPU backend: each loss as plain tfjs ops (tfjsOpsLoss) under
 * `tf.valueAndGrads`, and the bare `tf.matMul(U, U, false, true)` of U (2N×D) as tfjs's own
 * ceiling. Wall time: the call → the values read back with `data()`. GPU time: one extra run under
 * `tf.time()`, whose kernelMs sums the timestamp queries tfjs-webgpu writes around each program.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tfjsOpsLoss } from '../../src/tfjs/ops-losses.js';
import type { TfjsLossOptions } from '../../src/tfjs/op-options.js';
import { assertAlive, benchContext } from './context.js';
import { withErrorScopes } from './error-scope.js';
import { repeatCase, type RunSample } from './repeat.js';
import { tfjsPeakMemory } from './tfjs-memory.js';
import { benchLossOptions } from '../loss-options.js';
import { benchViews, normalArray } from '../random.js';
import type { BenchLoss, CaseSpec, CaseTiming } from '../types.js';

/** A computation that returns tensors; the first is the scalar whose value is reported. */
export type Step = () => tf.Tensor[];

/** Run `step`, await every output's data, dispose them; the wall time covers both. */
async function runStep(step: Step): Promise<RunSample> {
  const t0 = performance.now();
  const outs = step();
  const data = await Promise.all(outs.map((t) => t.data()));
  const wallMs = performance.now() - t0;
  tf.dispose(outs);
  return { wallMs, gpuMs: null, value: (data[0] as Float32Array)[0]! };
}

/** GPU ms of one run of `step` under tf.time (null without timestamp-query or on failure). */
async function kernelMs(step: Step, timestamps: boolean): Promise<number | null> {
  if (!timestamps) return null;
  let outs: tf.Tensor[] = [];
  const info = await tf.time(() => {
    outs = step();
  });
  await Promise.all(outs.map((t) => t.data()));
  tf.dispose(outs);
  const ms = info.kernelMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : null;
}

/**
 * Throughput mode: `calls` runs of `step` issued back to back (tfjs queues their GPU work without
 * waiting), the earlier outputs disposed unread, then the last one's data awaited. No GPU ms here:
 * tf.time would serialize the programs it times.
 */
async function runSteps(step: Step, calls: number): Promise<RunSample> {
  const t0 = performance.now();
  for (let i = 1; i < calls; i++) tf.dispose(step());
  const last = await runStep(step);
  return { ...last, wallMs: performance.now() - t0 };
}

/**
 * Warm-up, timed repeats (latency, and throughput when `throughput`), one tf.time run; memory
 * peaks over the timed runs.
 */
export async function timeStep(what: string, spec: CaseSpec, step: Step, inputs: tf.Tensor[], throughput = true): Promise<CaseTiming> {
  const ctx = await benchContext();
  const memory = tfjsPeakMemory(ctx.backend);
  try {
    return await withErrorScopes(ctx.device, what, async () => {
      const r = await repeatCase(spec, () => runStep(step), () => memory.reset(), throughput ? (calls) => runSteps(step, calls) : undefined);
      const used = memory.used;
      const allocated = memory.allocated;
      const gpuMs = await kernelMs(step, ctx.timestamps);
      assertAlive(ctx);
      return { wallMs: r.wallMs, gpuMs, peakBytes: used, poolBytes: allocated, value: r.value, warmup: r.warmup, throughput: r.throughput };
    });
  } finally {
    tf.dispose(inputs);
  }
}

/** Read one value that depends on each tensor, so their uploads finish before anything is timed. */
export async function settle(tensors: tf.Tensor2D[]): Promise<void> {
  const probe = tf.tidy(() => tf.addN(tensors.map((t) => tf.slice(t, [0, 0], [1, 1]))));
  await probe.data();
  probe.dispose();
}

/** The two views as tensors on the WebGPU backend, uploaded before any timing. */
export async function viewTensors(n: number, d: number, seed: number): Promise<[tf.Tensor2D, tf.Tensor2D]> {
  const { z1, z2 } = benchViews(n, d, seed);
  const t1 = tf.tensor2d(z1, [n, d]);
  const t2 = tf.tensor2d(z2, [n, d]);
  await settle([t1, t2]);
  return [t1, t2];
}

/** The valueAndGrads step of one loss (its options, e.g. a bank tensor): returns [value, ∂/∂z1, ∂/∂z2]. */
export function lossStep(options: TfjsLossOptions, z1: tf.Tensor2D, z2: tf.Tensor2D): Step {
  const valueAndGrads = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tfjsOpsLoss(a as tf.Tensor2D, b as tf.Tensor2D, options));
  return () => {
    const { value, grads } = valueAndGrads([z1, z2]);
    return [value, ...grads];
  };
}

/**
 * The tfjs options of `loss` at batch size N (bench/loss-options.ts), SupCon's labels as an int32
 * tensor made here once (resident, like the fused path's labels buffer); `tensors` are the
 * caller's to dispose.
 */
export function tfjsLossOptions(loss: BenchLoss, n: number): { options: TfjsLossOptions; tensors: tf.Tensor[] } {
  const { labels, ...options } = benchLossOptions(loss, n);
  if (!labels) return { options, tensors: [] };
  const t = tf.tensor1d(labels, 'int32');
  return { options: { ...options, labels: t }, tensors: [t] };
}

/** Time tfjsOpsLoss forward+backward for one loss and shape. */
export async function timeTfjs(loss: BenchLoss, spec: CaseSpec): Promise<CaseTiming> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const [z1, z2] = await viewTensors(spec.n, spec.d, spec.seed);
  const { options, tensors } = tfjsLossOptions(loss, spec.n);
  return timeStep(`tfjs ${loss} N=${spec.n} D=${spec.d}`, spec, lossStep(options, z1, z2), [z1, z2, ...tensors]);
}

/**
 * Time tfjs's bare matMul(U, U, false, true) for U of shape 2N×D; one element of the product is
 * read back (a 1×1 slice), which waits for the whole product without downloading 4N² floats.
 */
export async function timeMatmul(spec: CaseSpec): Promise<CaseTiming> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const U = tf.tensor2d(normalArray(2 * spec.n * spec.d, spec.seed), [2 * spec.n, spec.d]);
  await settle([U]);
  const step: Step = () => {
    const P = tf.matMul(U, U, false, true);
    const corner = tf.slice(P, [0, 0], [1, 1]);
    P.dispose();
    return [corner];
  };
  return timeStep(`tfjs matMul N=${spec.n} D=${spec.d}`, spec, step, [U], false);
}

/**
 * One tfjs forward+backward at (N, D) for the max-batch probe: seconds, or a throw. tfjs-webgpu
 * compiles shaders specialised to the shapes, so an untimed run at the same (N, D) goes first.
 */
export async function probeTfjs(loss: BenchLoss, n: number, d: number, seed: number): Promise<number> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const [z1, z2] = await viewTensors(n, d, seed);
  const { options, tensors } = tfjsLossOptions(loss, n);
  try {
    return await withErrorScopes(ctx.device, `tfjs ${loss} N=${n} D=${d}`, async () => {
      const step = lossStep(options, z1, z2);
      let seconds = NaN;
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        const s = await runStep(step);
        assertAlive(ctx);
        if (!Number.isFinite(s.value)) throw new Error(`the loss read back is ${s.value}`);
        seconds = (performance.now() - t0) / 1000;
      }
      return seconds;
    });
  } finally {
    tf.dispose([z1, z2, ...tensors]);
  }
}
