/**
 * Page functions for the second-wave options (negatives, bank, gradTemperature, diagnostics)
 * of the fused dispatcher: poisoned outputs, inputs and the bank checked unchanged, a
 * forward-only run that must agree bit for bit. Only `navigator.gpu`/the device is used (no DOM),
 * so the same bodies can run in Node on Dawn.
 */
import { ContrastiveLoss, type LossOutputs } from '../../src/contrastive-loss.js';
import type { LossOptions } from '../../src/options.js';
import { TARGET_WORKGROUPS } from '../../src/plan.js';
import { bitwiseEqual, encodeAndReadBack, outputBuffers, readBack, upload } from './gpu-io.js';
import { pageLoss } from './loss-runner.js';

/** Options without the bank: the page uploads the bank itself. */
export type OptionsWithoutBank = Omit<LossOptions, 'bank'>;

/** One fused forward+backward and one forward-only run with the second-wave outputs. */
export interface SecondWaveRun {
  loss: number;
  /** ℓ_a: 2N anchors, N in bank form. */
  perAnchor: Float32Array;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
  /** ∂L/∂τ, when asked. */
  gradTemperature?: number;
  /** [alignment, uniformity, positiveProbability, npcMultiplier], when asked. */
  diagnostics?: Float32Array;
  /** z1, z2 (and the bank) read back after the runs equal what was uploaded, bit for bit. */
  inputsUnchanged: boolean;
  /** Forward-only loss, perAnchor, gradTemperature and diagnostics equal forward+backward's, bit for bit. */
  forwardOnlyMatches: boolean;
  /** What the forward-only run returned (for the error message when it differs). */
  forwardOnly: { loss: number; gradTemperature?: number; diagnostics?: Float32Array };
}

/** Run the fused loss with `options` (and `bank`, K×D, uploaded as a GPU bank) on the page's device. */
export async function runSecondWave(
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: OptionsWithoutBank,
  bank?: Float32Array,
): Promise<SecondWaveRun> {
  const cl = await pageLoss();
  const device = cl.device;
  const bz1 = upload(device, z1);
  const bz2 = upload(device, z2);
  const bb = bank ? upload(device, bank) : undefined;
  const opts: LossOptions = bb ? { ...options, bank: { buffer: bb, k: bank!.length / d } } : { ...options };
  const anchors = bank ? n : 2 * n;
  const runOnce = async (backward: boolean) => {
    const outputs = outputBuffers(device, { n, d, anchors, backward }, options);
    return encodeAndReadBack(cl, { z1: bz1, z2: bz2, n, d, options: opts, backward }, outputs);
  };
  const full = await runOnce(true);
  const fwd = await runOnce(false);
  const after = await readBack(device, bb ? [bz1, bz2, bb] : [bz1, bz2]);
  for (const b of [bz1, bz2, bb]) b?.destroy();
  const same = (k: keyof LossOutputs) => (full[k] === undefined && fwd[k] === undefined) || bitwiseEqual(full[k]!, fwd[k]!);
  return {
    loss: full.loss![0]!,
    perAnchor: full.perAnchor!,
    gradZ1: full.gradZ1!,
    gradZ2: full.gradZ2!,
    gradTemperature: full.gradTemperature?.[0],
    diagnostics: full.diagnostics,
    inputsUnchanged: bitwiseEqual(after[0]!, z1) && bitwiseEqual(after[1]!, z2) && (!bank || bitwiseEqual(after[2]!, bank)),
    forwardOnlyMatches: same('loss') && same('perAnchor') && same('gradTemperature') && same('diagnostics'),
    forwardOnly: { loss: fwd.loss![0]!, gradTemperature: fwd.gradTemperature?.[0], diagnostics: fwd.diagnostics },
  };
}

/** The convenience path with a Float32Array bank: what `ContrastiveLoss.compute` returns. */
export async function computeSecondWave(
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: OptionsWithoutBank,
  bank?: Float32Array,
  backward = true,
) {
  const cl = await pageLoss();
  const live = cl.liveBufferCount;
  const result = await cl.compute(z1, z2, n, d, bank ? { ...options, bank } : options, { backward });
  return { ...result, buffersLeftOver: cl.liveBufferCount - live };
}

/** `encode`/`compute` with a bad second-wave argument; returns the error message (or 'no error'). */
export async function secondWaveError(kind: string): Promise<string> {
  const cl = await pageLoss();
  const device = cl.device;
  const n = 4;
  const d = 8;
  const k = 5;
  const z1 = upload(device, new Float32Array(n * d).fill(1));
  const z2 = upload(device, new Float32Array(n * d).fill(2));
  const bank = upload(device, new Float32Array(k * d).fill(3));
  const uniformOnly = device.createBuffer({ size: k * d * 4, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const tiny = upload(device, new Float32Array(1));
  const empty = device.createBuffer({ size: 0, usage: GPUBufferUsage.STORAGE });
  const base = { z1, z2, n, d };
  const enc = (options: LossOptions, extra: object = {}) => cl.encode(device.createCommandEncoder(), { ...base, options, ...extra });
  const cases: Record<string, () => unknown> = {
    bankTooSmall: () => enc({ loss: 'ntxent', bank: { buffer: bank, k: k + 1 } }),
    bankNotStorage: () => enc({ loss: 'ntxent', bank: { buffer: uniformOnly, k } }),
    bankK0: () => enc({ loss: 'ntxent', bank: { buffer: bank, k: 0 } }),
    bankKFraction: () => enc({ loss: 'ntxent', bank: { buffer: bank, k: 2.5 } }),
    bankNotBuffer: () => enc({ loss: 'ntxent', bank: { buffer: {} as GPUBuffer, k } }),
    bankIsOutput: () => enc({ loss: 'ntxent', bank: { buffer: bank, k } }, { outputs: { gradZ1: bank } }),
    bankIsDiagnostics: () => enc({ loss: 'ntxent', diagnostics: true, bank: { buffer: bank, k } }, { outputs: { diagnostics: bank } }),
    bankWithCross: () => enc({ loss: 'dcl', negatives: 'cross', bank: { buffer: bank, k } }),
    dualtempAll: () => enc({ loss: 'dualtemp', negatives: 'all' }),
    badNegatives: () => enc({ loss: 'dcl', negatives: 'none' as 'all' }),
    gradTemperatureTooSmall: () => enc({ loss: 'dcl', gradTemperature: true }, { outputs: { gradTemperature: empty } }),
    gradTemperatureNotAsked: () => enc({ loss: 'dcl' }, { outputs: { gradTemperature: tiny } }),
    gradientsForwardOnly: () => enc({ loss: 'dcl' }, { backward: false, outputs: { gradZ1: upload(device, new Float32Array(n * d)) } }),
    diagnosticsTooSmall: () => enc({ loss: 'dcl', diagnostics: true }, { outputs: { diagnostics: tiny } }),
    diagnosticsIsInput: () => enc({ loss: 'dcl', diagnostics: true }, { outputs: { diagnostics: z1 } }),
    arrayBankOnEncode: () => enc({ loss: 'dcl', bank: new Float32Array(k * d) }),
    computeBankLength: () => cl.compute(new Float32Array(n * d).fill(1), new Float32Array(n * d).fill(2), n, d, { loss: 'dcl', bank: new Float32Array(k * d - 1) }),
    computeBankNaN: () => cl.compute(new Float32Array(n * d).fill(1), new Float32Array(n * d).fill(2), n, d, { loss: 'dcl', bank: new Float32Array(k * d).fill(NaN) }),
    float64BankOnCompute: () => cl.compute(new Float32Array(n * d).fill(1), new Float32Array(n * d).fill(2), n, d, { loss: 'dcl', bank: new Float64Array(k * d) }),
    n1WithoutBank: () => enc({ loss: 'dcl' }, { n: 1 }),
  };
  try {
    await cases[kind]!();
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  } finally {
    for (const b of [z1, z2, bank, uniformOnly, tiny, empty]) b.destroy();
  }
}

/** Bytes the dispatcher holds at its peak during one forward+backward at each (N, D, K) (K = 0: no bank). */
export async function secondWavePeakBytes(shapes: [number, number, number][], options: OptionsWithoutBank): Promise<number[]> {
  const device = (await pageLoss()).device;
  const out: number[] = [];
  for (const [n, d, k] of shapes) {
    // A fresh dispatcher per shape so nothing from another shape is counted.
    const cl = await ContrastiveLoss.create({ device, targetWorkgroups: TARGET_WORKGROUPS });
    const z = new Float32Array(n * d).map(() => Math.random() - 0.5);
    const bank = k > 0 ? new Float32Array(k * d).map(() => Math.random() - 0.5) : undefined;
    await cl.compute(z, z.map((v) => v + 0.1), n, d, bank ? { ...options, bank } : options);
    out.push(cl.peakBytes);
    cl.destroy();
  }
  return out;
}
