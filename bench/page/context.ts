/**
 * The page's one device: tfjs's WebGPU backend is initialised first, and the fused dispatcher and
 * the FMA microkernel are created on that backend's GPUDevice, so every path runs on the same
 * adapter, device and queue.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ContrastiveLoss } from '../../src/contrastive-loss.js';
import type { AdapterSummary } from '../types.js';

/** Everything the page's benchmarks share. */
export interface BenchContext {
  backend: WebGPUBackend;
  device: GPUDevice;
  fused: ContrastiveLoss;
  /** The shared device has `timestamp-query`. */
  timestamps: boolean;
  /** Set when the device is lost (the message says why). */
  lost?: string;
}

let context: Promise<BenchContext> | undefined;

/** Start tfjs on WebGPU (once per page) and put the fused dispatcher on its device. */
export function benchContext(): Promise<BenchContext> {
  context ??= (async () => {
    if (!navigator.gpu) throw new Error('navigator.gpu is missing: no WebGPU in this page');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
    await tf.ready();
    const backend = tf.backend() as WebGPUBackend;
    const device = backend.device;
    const fused = await ContrastiveLoss.create({ device });
    const ctx: BenchContext = { backend, device, fused, timestamps: device.features.has('timestamp-query') };
    void device.lost.then((info) => {
      ctx.lost = `device lost (${info.reason}): ${info.message}`;
    });
    return ctx;
  })();
  return context;
}

/** The adapter the page's device comes from (tfjs asks for the high-performance one). */
export async function adapterSummary(): Promise<AdapterSummary> {
  const ctx = await benchContext();
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter');
  const a = adapter.info;
  return {
    vendor: a.vendor,
    architecture: a.architecture,
    description: a.description,
    features: [...adapter.features].sort(),
    timestampQuery: ctx.timestamps,
    limits: { maxBufferSize: ctx.device.limits.maxBufferSize, maxStorageBufferBindingSize: ctx.device.limits.maxStorageBufferBindingSize },
  };
}

/** Throw if the shared device is gone (later runs would silently produce nothing). */
export function assertAlive(ctx: BenchContext): void {
  if (ctx.lost) throw new Error(ctx.lost);
}
