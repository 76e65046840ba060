/**
 * Where a GPUDevice comes from: the host's `navigator.gpu` (a browser, or any global scope that
 * has one), else Dawn in Node (npm `webgpu`, optional). See ./node.ts for Node's adapter order.
 */
import { requestBrowserDevice, navigatorGpu } from './browser.js';
import { isNode, requestNodeDevice } from './node.js';
import type { DeviceRequest, RuntimeDevice } from './types.js';

export { NoAdapterError } from './types.js';
export type { AdapterInfo, DeviceRequest, RuntimeDevice, RuntimeName } from './types.js';
export { describeAdapter } from './browser.js';
export { installDawnNavigator, relaunchWithSwiftShader, swiftShaderEnv } from './node.js';

/** A device and its adapter: `navigator.gpu` when present, else Dawn in Node. */
export async function requestRuntimeDevice(request: DeviceRequest = {}): Promise<RuntimeDevice> {
  if (navigatorGpu()) return requestBrowserDevice(request);
  if (isNode()) return requestNodeDevice(request);
  throw new Error('WebGPU is not available here: no navigator.gpu, and not Node (where the npm package webgpu provides it)');
}

/** Request a GPUDevice with the adapter's largest buffer limits (large batches need them). */
export async function requestDevice(request: DeviceRequest = {}): Promise<GPUDevice> {
  return (await requestRuntimeDevice(request)).device;
}
