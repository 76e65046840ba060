/**
 * Page functions for `EncodeArgs.temperatureParams` (τ read on the GPU): several calls with
 * different τ encoded into one command buffer, sharing the same uniform buffers, each must read
 * its own τ; and the same calls with τ given on the CPU, for a bit-for-bit comparison.
 * Only `navigator.gpu`/the device is used.
 */
import type { LossOutputs } from '../../src/contrastive-loss.js';
import type { LossOptions } from '../../src/options.js';
import { errorRecorder, poisoned, readBack, upload } from './gpu-io.js';
import { pageLoss } from './loss-runner.js';

/** One call's outputs, read back. */
export interface TauRun {
  loss: number;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
  gradTemperature: number;
}

/**
 * For each τ: one call with `temperatureParams = [1/τ, 1/(τ·m)]` (f32), all encoded into one
 * encoder and submitted together (`gpu`); then the same calls with `options.temperature = τ`,
 * one per submission (`cpu`). Outputs poisoned first; gradTemperature asked.
 */
export async function temperatureParamsRuns(
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: Omit<LossOptions, 'bank' | 'temperature'>,
  taus: number[],
  bank?: Float32Array,
): Promise<{ gpu: TauRun[]; cpu: TauRun[]; validationErrors: string[] }> {
  const cl = await pageLoss();
  const device = cl.device;
  const bz1 = upload(device, z1);
  const bz2 = upload(device, z2);
  const bb = bank ? upload(device, bank) : undefined;
  const base: LossOptions = { ...options, gradTemperature: true, ...(bb ? { bank: { buffer: bb, k: bank!.length / d } } : {}) };
  const m = options.dtM ?? 10;
  const params = taus.map((t) => upload(device, new Float32Array([1 / t, 1 / (t * m)])));
  const fresh = (): Partial<LossOutputs> => ({
    loss: poisoned(device, 1),
    perAnchor: poisoned(device, bank ? n : 2 * n),
    gradZ1: poisoned(device, n * d),
    gradZ2: poisoned(device, n * d),
    gradTemperature: poisoned(device, 1),
  });
  const read = async (outs: Partial<LossOutputs>[]): Promise<TauRun[]> =>
    Promise.all(
      outs.map(async (o) => {
        const [loss, g1, g2, gt] = await readBack(device, [o.loss!, o.gradZ1!, o.gradZ2!, o.gradTemperature!], [1, n * d, n * d, 1]);
        for (const b of Object.values(o)) b!.destroy();
        return { loss: loss![0]!, gradZ1: g1!, gradZ2: g2!, gradTemperature: gt![0]! };
      }),
    );
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  const gpuOuts = taus.map((_, i) => {
    const outputs = fresh();
    cl.encode(encoder, { z1: bz1, z2: bz2, n, d, options: base, temperatureParams: params[i], outputs });
    return outputs;
  });
  device.queue.submit([encoder.finish()]);
  const gpu = await read(gpuOuts);
  const cpuOuts: Partial<LossOutputs>[] = [];
  for (const t of taus) {
    const outputs = fresh();
    const e = device.createCommandEncoder();
    cl.encode(e, { z1: bz1, z2: bz2, n, d, options: { ...base, temperature: t }, outputs });
    device.queue.submit([e.finish()]);
    cpuOuts.push(outputs);
  }
  const cpu = await read(cpuOuts);
  const error = await device.popErrorScope();
  for (const b of [bz1, bz2, ...params, ...(bb ? [bb] : [])]) b.destroy();
  return { gpu, cpu, validationErrors: error ? [error.message] : [] };
}

/** The messages of temperatureParams' argument errors. */
export async function temperatureParamsErrors(): Promise<Record<string, string>> {
  const cl = await pageLoss();
  const device = cl.device;
  const z = upload(device, new Float32Array(12).fill(1));
  const z2 = upload(device, new Float32Array(12).fill(2));
  const small = upload(device, new Float32Array([1]));
  const ok = upload(device, new Float32Array([2, 0.2]));
  const noCopySrc = device.createBuffer({ size: 8, usage: GPUBufferUsage.STORAGE });
  const { out, attempt } = errorRecorder();
  const encoder = device.createCommandEncoder();
  const args = { z1: z, z2, n: 4, d: 3, options: { loss: 'dcl' as const } };
  attempt('small', () => cl.encode(encoder, { ...args, temperatureParams: small }));
  attempt('noCopySrc', () => cl.encode(encoder, { ...args, temperatureParams: noCopySrc }));
  attempt('both', () => cl.encode(encoder, { ...args, options: { loss: 'dcl', temperature: 0.1 }, temperatureParams: ok }));
  attempt('asOutput', () => cl.encode(encoder, { ...args, temperatureParams: ok, outputs: { loss: ok } }));
  encoder.finish();
  for (const b of [z, z2, small, ok, noCopySrc]) b.destroy();
  return out;
}
