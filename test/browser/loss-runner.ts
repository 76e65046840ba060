/**
 * Page functions that run the fused dispatcher the way the GPU tests need: poisoned outputs,
 * inputs checked unchanged, a second identical run for determinism, and a forward-only run.
 */
import { ContrastiveLoss } from '../../src/contrastive-loss.js';
import type { LossOptions } from '../../src/options.js';
import { TARGET_WORKGROUPS } from '../../src/plan.js';
import { bitwiseEqual, poisoned, readBack, upload } from './gpu-io.js';
import { pageDevice } from './smoke.js';

let lossPromise: Promise<ContrastiveLoss> | undefined;
/**
 * The page's dispatcher, on the page's shared device. It splits the candidate axis as on a GPU
 * (the default on this CPU adapter is no split), so the GPU tests exercise the split passes.
 */
export async function pageLoss(): Promise<ContrastiveLoss> {
  lossPromise ??= pageDevice().then((device) => ContrastiveLoss.create({ device, targetWorkgroups: TARGET_WORKGROUPS }));
  return lossPromise;
}

/** One fused forward+backward, twice, plus a forward-only run, with every check the tests need. */
export interface GpuRun {
  loss: number;
  perAnchor: Float32Array;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
  /** z1 and z2 read back after the runs equal what was uploaded, bit for bit. */
  inputsUnchanged: boolean;
  /** The second full run equals the first, bit for bit (loss, perAnchor, gradients). */
  deterministic: boolean;
  /** Forward-only loss and perAnchor equal those of forward+backward, bit for bit. */
  forwardOnlyMatches: boolean;
  /** Forward-only run's loss (for the error message when it differs). */
  forwardOnlyLoss: number;
  /** Buffers the dispatcher holds after the runs (its workspace and constants only). */
  liveBuffers: number;
}

/** Run the fused loss on the page's WebGPU device. */
export async function runFusedLoss(
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: LossOptions,
  gradScale = 1,
): Promise<GpuRun> {
  const cl = await pageLoss();
  const device = cl.device;
  const bz1 = upload(device, z1);
  const bz2 = upload(device, z2);
  const runOnce = async (backward: boolean) => {
    const outputs = {
      loss: poisoned(device, 1),
      perAnchor: poisoned(device, 2 * n),
      ...(backward ? { gradZ1: poisoned(device, n * d), gradZ2: poisoned(device, n * d) } : {}),
    };
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    cl.encode(encoder, { z1: bz1, z2: bz2, n, d, options, backward, gradScale, outputs });
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`WebGPU validation error: ${error.message}`);
    const bufs = Object.values(outputs);
    const data = await readBack(device, bufs);
    for (const b of bufs) b.destroy();
    return data;
  };
  const first = await runOnce(true);
  const second = await runOnce(true);
  const fwd = await runOnce(false);
  const [z1After, z2After] = await readBack(device, [bz1, bz2]);
  bz1.destroy();
  bz2.destroy();
  return {
    loss: first[0]![0]!,
    perAnchor: first[1]!,
    gradZ1: first[2]!,
    gradZ2: first[3]!,
    inputsUnchanged: bitwiseEqual(z1After!, z1) && bitwiseEqual(z2After!, z2),
    deterministic: first.every((a, i) => bitwiseEqual(a, second[i]!)),
    forwardOnlyMatches: bitwiseEqual(fwd[0]!, first[0]!) && bitwiseEqual(fwd[1]!, first[1]!),
    forwardOnlyLoss: fwd[0]![0]!,
    liveBuffers: cl.liveBufferCount,
  };
}

/** Convenience path (Float32Arrays in and out) — what `ContrastiveLoss.compute` returns. */
export async function computeLoss(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions, backward = true) {
  const cl = await pageLoss();
  return cl.compute(z1, z2, n, d, options, { backward });
}

/** Run `encode` with deliberately bad arguments; returns the error message (or 'no error'). */
export async function encodeError(kind: string): Promise<string> {
  const cl = await pageLoss();
  const device = cl.device;
  const n = 4;
  const d = 8;
  const ok = upload(device, new Float32Array(n * d).fill(1));
  const ok2 = upload(device, new Float32Array(n * d).fill(2));
  const small = upload(device, new Float32Array(n * d - 1));
  const uniformOnly = device.createBuffer({ size: n * d * 4, usage: GPUBufferUsage.UNIFORM });
  const base = { z1: ok, z2: ok2, n, d, options: { loss: 'dcl' as const } };
  const cases: Record<string, () => unknown> = {
    smallZ1: () => cl.encode(device.createCommandEncoder(), { ...base, z1: small }),
    n1: () => cl.encode(device.createCommandEncoder(), { ...base, n: 1 }),
    tau0: () => cl.encode(device.createCommandEncoder(), { ...base, options: { loss: 'dcl', temperature: 0 } }),
    badLoss: () => cl.encode(device.createCommandEncoder(), { ...base, options: { loss: 'nope' as 'dcl' } }),
    notStorage: () => cl.encode(device.createCommandEncoder(), { ...base, z2: uniformOnly }),
    smallOutput: () => cl.encode(device.createCommandEncoder(), { ...base, outputs: { gradZ1: small } }),
    sameBuffer: () => cl.encode(device.createCommandEncoder(), { ...base, z2: ok }),
    tooLarge: () => cl.encode(device.createCommandEncoder(), { ...base, n: 1 << 24, d: 4096 }),
    nanCompute: () => cl.compute(new Float32Array(n * d).fill(NaN), new Float32Array(n * d), n, d, { loss: 'dcl' }),
  };
  try {
    await cases[kind]!();
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  } finally {
    for (const b of [ok, ok2, small, uniformOnly]) b.destroy();
  }
}

/** Bytes the dispatcher holds at its peak during one forward+backward at each (N, D). */
export async function fusedPeakBytes(shapes: [number, number][]): Promise<number[]> {
  const device = (await pageLoss()).device;
  const out: number[] = [];
  for (const [n, d] of shapes) {
    // A fresh dispatcher per shape so nothing from another shape is counted.
    const cl = await ContrastiveLoss.create({ device, targetWorkgroups: TARGET_WORKGROUPS });
    const z = new Float32Array(n * d).map(() => Math.random() - 0.5);
    await cl.compute(z, z.map((v) => v + 0.1), n, d, { loss: 'dcl' });
    out.push(cl.peakBytes);
    cl.destroy();
  }
  return out;
}

/** After destroy(): buffers held, and the error a later call gets. */
export async function destroyBehaviour(): Promise<{ liveBefore: number; liveAfter: number; bytesAfter: number; error: string }> {
  const device = (await pageLoss()).device;
  const cl = await ContrastiveLoss.create({ device, targetWorkgroups: TARGET_WORKGROUPS });
  await cl.compute(new Float32Array(12).fill(1).map((v, i) => v + i), new Float32Array(12).map((_, i) => i % 5), 4, 3, { loss: 'ntxent' });
  const liveBefore = cl.liveBufferCount;
  cl.destroy();
  let error = 'no error';
  try {
    await cl.compute(new Float32Array(12), new Float32Array(12), 4, 3, { loss: 'ntxent' });
  } catch (e) {
    error = (e as Error).message;
  }
  return { liveBefore, liveAfter: cl.liveBufferCount, bytesAfter: cl.currentBytes, error };
}

/** A dispatcher on a device that has been destroyed: the error a call gets. */
export async function lostDeviceError(): Promise<string> {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  const cl = await ContrastiveLoss.create({ device, targetWorkgroups: TARGET_WORKGROUPS });
  device.destroy();
  await device.lost;
  try {
    await cl.compute(new Float32Array(8).fill(1), new Float32Array(8).fill(2), 2, 4, { loss: 'dcl' });
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
}
