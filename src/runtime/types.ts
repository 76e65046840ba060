/** Types shared by the runtimes: where a GPUDevice came from and what adapter it runs on. */

/** What a WebGPU adapter says it is (`GPUAdapter.info`). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
}

/** Which runtime provided the device: the host's `navigator.gpu`, or Dawn in Node (npm `webgpu`). */
export type RuntimeName = 'browser' | 'node';

/** A device and where it came from. */
export interface RuntimeDevice {
  device: GPUDevice;
  adapter: AdapterInfo;
  runtime: RuntimeName;
  /** Node only: which adapter source served it ('system' Vulkan/Metal/D3D12, or 'swiftshader'). */
  source?: 'system' | 'swiftshader';
}

/** How to ask for an adapter. */
export interface DeviceRequest {
  powerPreference?: GPUPowerPreference;
}

/** No WebGPU adapter could be had; the message lists what was tried and what to install. */
export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
  /** Each place that was tried, and why it gave nothing. */
  readonly tried: readonly string[];
  constructor(message: string, tried: readonly string[]) {
    super(message);
    this.tried = tried;
  }
}
