/**
 * The read-back of the GPU-resident path: `readOutputs(device, outputs)` copies the output
 * buffers of `ContrastiveLoss.encode` into one staging buffer of its own, maps it and returns
 * Float32Array copies, so a caller never writes staging buffers and `mapAsync` by hand.
 */
import { DeviceLostError, type LossOutputs } from './contrastive-loss.js';
import { checkKnownKeys } from './options.js';
import { describeType } from './validate.js';

const MAP_READ = 0x0001; // GPUBufferUsage.* (the globals are absent in Node)
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;

/** The outputs {@link readOutputs} knows, in the order it copies them. */
const OUTPUT_NAMES: readonly (keyof LossOutputs)[] = ['loss', 'perAnchor', 'gradZ1', 'gradZ2', 'gradTemperature', 'diagnostics'];

/**
 * What {@link readOutputs} resolves to for outputs `O`: a Float32Array for every buffer `O`
 * surely holds (so `encode`'s gradients, present for `backward: true`, come back present), an
 * optional one for an optional buffer.
 */
export type ReadOutputs<O extends Partial<LossOutputs>> = {
  [K in keyof O]: O[K] extends GPUBuffer ? Float32Array : O[K] extends undefined ? undefined : Float32Array | undefined;
};

/**
 * Read the outputs of {@link ContrastiveLoss.encode} (or any of them) back to the CPU.
 *
 * Call it after submitting the command buffer that `encode` recorded into: it records its own
 * copies into a new command buffer, submits it (the queue runs it after your work), maps a
 * staging buffer of its own and resolves to a Float32Array per given buffer — its whole size,
 * which for the outputs `encode` creates is exactly the values: `loss` 1, `perAnchor` 2N (N in
 * bank form), `gradZ1`/`gradZ2` N×D, `gradTemperature` 1, `diagnostics` 4 (order
 * `DIAGNOSTIC_NAMES`). The staging buffer is destroyed before it resolves; your buffers stay
 * alive and unchanged (destroy the ones `encode` created when done).
 *
 * ```ts
 * const out = cl.encode(encoder, { z1, z2, n, d, options: { loss: 'dcl' } });
 * device.queue.submit([encoder.finish()]);
 * const { loss, gradZ1 } = await readOutputs(device, out); // loss[0]; gradZ1: N×D
 * for (const b of Object.values(out)) b.destroy();
 * ```
 *
 * Errors: a `device` that is not a GPUDevice or `outputs` that is not an object (TypeError), an
 * unknown output name (TypeError, with the nearest valid one), a value that is not a GPUBuffer
 * (TypeError), a buffer without usage COPY_SRC or currently mapped (RangeError); a copy WebGPU
 * refuses, e.g. of a destroyed buffer (Error, nothing reported on the device); the device lost
 * meanwhile ({@link DeviceLostError}).
 */
export async function readOutputs<O extends Partial<LossOutputs>>(device: GPUDevice, outputs: O): Promise<ReadOutputs<O>> {
  if (typeof (device as GPUDevice | null)?.createCommandEncoder !== 'function') {
    throw new TypeError(`readOutputs: device must be a GPUDevice, got ${describeType(device)}`);
  }
  if (typeof outputs !== 'object' || outputs === null) {
    throw new TypeError(`readOutputs: outputs must be an object of GPUBuffers like encode's result ({ loss, perAnchor, ... }), got ${describeType(outputs)}`);
  }
  checkKnownKeys('output', outputs, OUTPUT_NAMES);
  const parts: [name: keyof LossOutputs, buffer: GPUBuffer, offset: number, bytes: number][] = [];
  let total = 0;
  for (const name of OUTPUT_NAMES) {
    const b: unknown = outputs[name];
    if (b === undefined) continue;
    if (typeof (b as GPUBuffer | null)?.size !== 'number' || typeof (b as GPUBuffer).usage !== 'number') {
      throw new TypeError(`readOutputs: outputs.${name} must be a GPUBuffer, got ${describeType(b)}`);
    }
    const buf = b as GPUBuffer;
    if ((buf.usage & COPY_SRC) === 0) {
      throw new RangeError(`readOutputs: outputs.${name} lacks usage COPY_SRC (usage flags ${buf.usage}); buffers encode creates have it`);
    }
    if (buf.mapState !== undefined && buf.mapState !== 'unmapped') {
      throw new RangeError(`readOutputs: outputs.${name} is ${buf.mapState}; unmap it first`);
    }
    const bytes = Math.floor(buf.size / 4) * 4;
    parts.push([name, buf, total, bytes]);
    total += bytes;
  }
  const result: Partial<Record<keyof LossOutputs, Float32Array>> = {};
  if (total === 0) {
    for (const [name] of parts) result[name] = new Float32Array(0);
    return result as ReadOutputs<O>;
  }

  const lost = device.lost.then((info) => {
    throw new DeviceLostError(info);
  });
  lost.catch(() => {}); // raced below; not an unhandled rejection
  device.pushErrorScope('validation');
  const staging = device.createBuffer({ label: 'webgpu-contrastive readOutputs', size: total, usage: MAP_READ | COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: 'webgpu-contrastive readOutputs' });
    for (const [, buf, offset, bytes] of parts) encoder.copyBufferToBuffer(buf, 0, staging, offset, bytes);
    device.queue.submit([encoder.finish()]);
    const refused = await Promise.race([device.popErrorScope(), lost]);
    if (refused) throw new Error(`readOutputs: WebGPU refused to copy the outputs (are they alive, not destroyed?): ${refused.message}`);
    try {
      await Promise.race([staging.mapAsync(MAP_READ), lost]);
    } catch (e) {
      // A lost device aborts the map first and resolves `lost` a moment later: report the loss.
      if (e instanceof DeviceLostError) throw e;
      throw (await Promise.race([lost.catch((l: unknown) => l), new Promise((r) => setTimeout(r, 1000))])) ?? e;
    }
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    for (const [name, , offset, bytes] of parts) result[name] = all.slice(offset / 4, (offset + bytes) / 4);
    return result as ReadOutputs<O>;
  } finally {
    staging.destroy();
  }
}
