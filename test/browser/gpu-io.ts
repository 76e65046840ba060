/** Small WebGPU helpers for test pages: upload, poison, read back. */

/** Usage for test buffers: storage, copyable both ways. */
import type { ContrastiveLoss, EncodeArgs, LossOutputs } from '../../src/contrastive-loss.js';

export const TEST_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A storage buffer holding `data`. */
export function upload(device: GPUDevice, data: Float32Array, usage: number = TEST_USAGE): GPUBuffer {
  const buf = device.createBuffer({ size: Math.max(4, data.byteLength), usage });
  device.queue.writeBuffer(buf, 0, data as Float32Array<ArrayBuffer>);
  return buf;
}

/** A storage buffer of `count` f32 filled with NaN, so an element a kernel never writes fails the test. */
export function poisoned(device: GPUDevice, count: number): GPUBuffer {
  return upload(device, new Float32Array(count).fill(NaN));
}

/**
 * The output buffers of one encode call, every f32 set to `fill` (default NaN, so an element a
 * kernel never writes fails the test): loss, `anchors` per-anchor losses, both N×D gradients when
 * `backward`, and each extra output `options` asks for (gradTemperature, diagnostics, gradBias).
 */
export function outputBuffers(
  device: GPUDevice,
  shape: { n: number; d: number; anchors: number; backward: boolean },
  options: { gradTemperature?: boolean; diagnostics?: boolean; gradBias?: boolean },
  fill = NaN,
): Partial<LossOutputs> {
  const filled = (count: number) => upload(device, new Float32Array(count).fill(fill));
  const { n, d, anchors, backward } = shape;
  return {
    loss: filled(1),
    perAnchor: filled(anchors),
    ...(backward ? { gradZ1: filled(n * d), gradZ2: filled(n * d) } : {}),
    ...(options.gradTemperature ? { gradTemperature: filled(1) } : {}),
    ...(options.diagnostics ? { diagnostics: filled(4) } : {}),
    ...(options.gradBias ? { gradBias: filled(1) } : {}),
  };
}

/** Read `count` f32 from each buffer, in one submission. */
export async function readBack(device: GPUDevice, buffers: GPUBuffer[], counts?: number[]): Promise<Float32Array[]> {
  const encoder = device.createCommandEncoder();
  const staging = buffers.map((b) => {
    const s = device.createBuffer({ size: b.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(b, 0, s, 0, b.size);
    return s;
  });
  device.queue.submit([encoder.finish()]);
  const out: Float32Array[] = [];
  for (let i = 0; i < staging.length; i++) {
    await staging[i]!.mapAsync(GPUMapMode.READ);
    const all = new Float32Array(staging[i]!.getMappedRange().slice(0));
    out.push(counts ? all.slice(0, counts[i]) : all);
    staging[i]!.destroy();
  }
  return out;
}

/** True when two arrays hold the same bits. */
export function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/**
 * Records what each attempted call throws, as `'Name: message'` (or `'no error'`), under its
 * name: page functions return these for the Node side to match against.
 */
export function errorRecorder(): { out: Record<string, string>; attempt: (name: string, f: () => unknown) => void } {
  const out: Record<string, string> = {};
  const attempt = (name: string, f: () => unknown) => {
    try {
      const r = f() as { dispose?: () => void } | undefined;
      r?.dispose?.();
      out[name] = 'no error';
    } catch (e) {
      out[name] = `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  return { out, attempt };
}

/**
 * One `encode` into the caller's (poisoned) `outputs`, submitted under a validation error scope;
 * every output read back, then destroyed. Throws on a validation error, or when `encode` returned
 * other buffers than the ones given.
 */
export async function encodeAndReadBack(
  cl: ContrastiveLoss,
  args: Omit<EncodeArgs, 'outputs'>,
  outputs: Partial<LossOutputs>,
): Promise<Partial<Record<keyof LossOutputs, Float32Array>>> {
  const device = cl.device;
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  const out = cl.encode(encoder, { ...args, outputs }) as Partial<LossOutputs>;
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`WebGPU validation error: ${error.message}`);
  const names = Object.keys(outputs) as (keyof LossOutputs)[];
  for (const k of names) if (out[k] !== outputs[k]) throw new Error(`encode returned a different ${k} buffer than the one given`);
  const data = await readBack(device, names.map((k) => outputs[k]!));
  for (const k of names) outputs[k]!.destroy();
  return Object.fromEntries(names.map((k, i) => [k, data[i]!])) as Partial<Record<keyof LossOutputs, Float32Array>>;
}
