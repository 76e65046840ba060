/**
 * A GPUDevice from the browser's own WebGPU (`navigator.gpu`). Also what any other host that
 * installs a `navigator.gpu` (Deno, a page of headless Chromium) goes through.
 */
import type { AdapterInfo, DeviceRequest, RuntimeDevice } from './types.js';

/** The `GPU` object of this global scope, or undefined when there is none. */
export function navigatorGpu(): GPU | undefined {
  return typeof navigator !== 'undefined' && navigator.gpu ? navigator.gpu : undefined;
}

/** What `adapter.info` says, as plain strings. */
export function describeAdapter(adapter: GPUAdapter): AdapterInfo {
  const info = adapter.info;
  return { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', description: info?.description ?? '' };
}

/**
 * Request a device on `gpu` with the adapter's largest buffer limits (large batches need them).
 * Returns null when `gpu` offers no adapter.
 */
export async function deviceFromGpu(gpu: GPU, request: DeviceRequest = {}): Promise<{ device: GPUDevice; adapter: AdapterInfo } | null> {
  const adapter = await gpu.requestAdapter(request.powerPreference ? { powerPreference: request.powerPreference } : undefined);
  if (!adapter) return null;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  return { device, adapter: describeAdapter(adapter) };
}

/** A device from `navigator.gpu`; throws a {@link NoAdapterError}-style message when there is none. */
export async function requestBrowserDevice(request: DeviceRequest = {}): Promise<RuntimeDevice> {
  const gpu = navigatorGpu();
  if (!gpu) throw new Error('WebGPU is not available here (navigator.gpu is missing): use a browser with WebGPU enabled');
  const got = await deviceFromGpu(gpu, request);
  if (!got) throw new Error('navigator.gpu.requestAdapter() returned no adapter: WebGPU is disabled or unsupported on this machine');
  return { ...got, runtime: 'browser' };
}
