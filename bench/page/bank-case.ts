/**
 * The bank (queue) form, timed (`npm run bench -- --bank`): N anchors of z1 against K bank rows
 * (docs/FORMULAS.md "Queue negatives"), forward+backward, the bank resident on the GPU before timing.
 * Fused: `encode` with `options.bank = { buffer, k }`. tfjs: `tfjsOpsLoss` with a K×D bank
 * tensor under `tf.valueAndGrads` (the bank gets no gradient on either path).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertAlive, benchContext } from './context.js';
import { timeFusedWith } from './fused-case.js';
import { lossStep, settle, timeStep, viewTensors } from './tfjs-case.js';
import type { PathValues } from './check.js';
import { normalArray } from '../random.js';
import type { BankCaseSpec, BenchLoss, CaseTiming } from '../types.js';

/** The bank of a case: K×D standard-normal rows, seeded apart from the views' seeds. */
export function benchBank(k: number, d: number, seed: number): Float32Array {
  return normalArray(k * d, seed + 2);
}

/** Time the fused bank form for one loss and (N, D, K). */
export async function timeBankFused(loss: BenchLoss, spec: BankCaseSpec): Promise<CaseTiming> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const { n, d, k } = spec;
  const values = benchBank(k, d, spec.seed);
  const bank = ctx.device.createBuffer({ size: values.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  ctx.device.queue.writeBuffer(bank, 0, values as Float32Array<ArrayBuffer>);
  try {
    return await timeFusedWith(`fused bank ${loss} N=${n} D=${d} K=${k}`, { loss, bank: { buffer: bank, k } }, spec, bank.size);
  } finally {
    bank.destroy();
  }
}

/** Time tfjsOpsLoss's bank form for one loss and (N, D, K). */
export async function timeBankTfjs(loss: BenchLoss, spec: BankCaseSpec): Promise<CaseTiming> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const [z1, z2] = await viewTensors(spec.n, spec.d, spec.seed);
  const bank = tf.tensor2d(benchBank(spec.k, spec.d, spec.seed), [spec.k, spec.d]);
  await settle([bank]);
  return timeStep(`tfjs bank ${loss} N=${spec.n} D=${spec.d} K=${spec.k}`, spec, lossStep({ loss, bank }, z1, z2), [z1, z2, bank]);
}

/** Both paths' bank form on given inputs, for the check against the float64 reference (in Node). */
export async function runBankBothPaths(z1: Float32Array, z2: Float32Array, bank: Float32Array, n: number, d: number, loss: BenchLoss): Promise<{ fused: PathValues; tfjs: PathValues }> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const f = await ctx.fused.compute(z1, z2, n, d, { loss, bank });
  const t1 = tf.tensor2d(z1, [n, d]);
  const t2 = tf.tensor2d(z2, [n, d]);
  const tb = tf.tensor2d(bank, [bank.length / d, d]);
  const outs = lossStep({ loss, bank: tb }, t1, t2)();
  const [v, g1, g2] = await Promise.all(outs.map((t) => t.data()));
  tf.dispose([t1, t2, tb, ...outs]);
  assertAlive(ctx);
  return {
    fused: { loss: f.loss, gradZ1: f.gradZ1!, gradZ2: f.gradZ2! },
    tfjs: { loss: (v as Float32Array)[0]!, gradZ1: g1 as Float32Array, gradZ2: g2 as Float32Array },
  };
}
