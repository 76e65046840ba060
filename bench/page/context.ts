/**
 * The page's one device: tfjs's WebGPU backend is initialised first, and the fused dispatcher and
 * the FMA microkernel are created on that backend's GPUDevice, so every path runs on the same
 * adapter, device and queue.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
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
    // tfjs-backend-webgpu registers itself at import only when navigator.gpu already exists; in
    // Node (Dawn installed as navigator.gpu later) register it here, the same way it would.
    if (!tf.findBackendFactory('webgpu')) tf.registerBackend('webgpu', registerDawnBackend);
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

/** What tfjs-backend-webgpu's own factory does: the high-performance adapter, its buffer limits, timestamps. */
async function registerDawnBackend(): Promise<WebGPUBackend> {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: adapter.limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  return new WebGPUBackend(device, adapter.info);
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
    targetWorkgroups: ctx.fused.targetWorkgroups,
  };
}

/** Throw if the shared device is gone (later runs would silently produce nothing). */
export function assertAlive(ctx: BenchContext): void {
  if (ctx.lost) throw new Error(ctx.lost);
}
