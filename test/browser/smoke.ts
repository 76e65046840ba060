/** Page functions for the smoke test: adapter report, and one raw kernel run. */
import { KERNELS } from '../../src/kernels.js';
import { poisoned, readBack, upload } from './gpu-io.js';

/** What the page's WebGPU adapter is. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  features: string[];
  limits: Record<string, number>;
}

let devicePromise: Promise<GPUDevice> | undefined;
/** One device per page, requested with the adapter's buffer limits. */
export function pageDevice(): Promise<GPUDevice> {
  devicePromise ??= (async () => {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
    return adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
  })();
  return devicePromise;
}

/** Report the adapter: vendor, architecture, features, limits. */
export async function adapterReport(): Promise<AdapterReport> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) limits[key] = (adapter.limits as unknown as Record<string, number>)[key]!;
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    features: [...adapter.features].sort(),
    limits,
  };
}

/**
 * Run kernels/normalize_rows.wgsl directly on (z1, z2); return U (2N×D4·4), the row norms and
 * the pair statistics (N × (u1_i·u2_i, ‖u1_i − u2_i‖²), interleaved).
 */
export async function runNormalizeRows(z1: Float32Array, z2: Float32Array, n: number, d: number): Promise<{ U: Float32Array; norms: Float32Array; pair: Float32Array }> {
  const device = await pageDevice();
  const d4 = Math.ceil(d / 4);
  const spec = KERNELS.normalizeRows;
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: spec.source }), entryPoint: 'main' },
  });
  // NormParams: n, d, d4, rows_per_slice, then normalize_backward's two slice fields (unused here).
  const params = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, new Uint32Array([n, d, d4, n, 1, 2 * n, 0, 0]));
  const bufs = [upload(device, z1), upload(device, z2), poisoned(device, 2 * n * d4 * 4), poisoned(device, 2 * n), poisoned(device, 2 * n)];
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [params, ...bufs].map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  pass.dispatchWorkgroups(n, 1);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const [U, norms, pair] = await readBack(device, bufs.slice(2));
  for (const b of [params, ...bufs]) b.destroy();
  return { U: U!, norms: norms!, pair: pair! };
}
