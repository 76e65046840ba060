/**
 * What the CLI's commands do on a GPU, written once against a {@link ContrastiveLoss}: run on
 * Node + Dawn in the CLI's own process, or inside the headless-Chromium page
 * (src/chromium/cli-page.ts) for `--runtime chromium`. Uses only the device, no DOM, no Node.
 */
import type { ContrastiveLoss, LossResult } from '../contrastive-loss.js';
import type { LossOptions } from '../options.js';

/** One fused forward+backward through `ContrastiveLoss.compute` (Float32Arrays in and out). */
export function runLossOn(cl: ContrastiveLoss, z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions): Promise<LossResult> {
  return cl.compute(z1, z2, n, d, options);
}

/**
 * Wall time in ms of `runs` fused forward+backward passes on GPU-resident inputs (encode, submit,
 * wait for the queue), after `warmup` untimed ones. Uploads and read-backs are not timed.
 */
export async function timeLossOn(
  cl: ContrastiveLoss,
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: LossOptions,
  warmup: number,
  runs: number,
): Promise<number[]> {
  const device = cl.device;
  const upload = (data: Float32Array) => {
    const b = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  };
  const output = (floats: number) => device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const bz1 = upload(z1);
  const bz2 = upload(z2);
  const outputs = { loss: output(1), perAnchor: output(2 * n), gradZ1: output(n * d), gradZ2: output(n * d) };
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      device.pushErrorScope('validation');
      const encoder = device.createCommandEncoder();
      cl.encode(encoder, { z1: bz1, z2: bz2, n, d, options, backward: true, outputs });
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      const t1 = performance.now();
      const error = await device.popErrorScope();
      if (error) throw new Error(`WebGPU rejected the fused loss: ${error.message}`);
      if (i >= warmup) times.push(t1 - t0);
    }
    return times;
  } finally {
    for (const b of [bz1, bz2, ...Object.values(outputs)]) b.destroy();
  }
}
