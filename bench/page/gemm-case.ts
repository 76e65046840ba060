/**
 * The WGSL GEMM yardstick: bench/gemm.wgsl computing C = U·Uᵀ (U of shape 2N×D, the normalized
 * rows' shape) on the shared device, so a fused forward+backward (≈ 3 such products' worth of
 * flops, 6·(2N)²·D) can be read as "k GEMMs". Like the fused path, inputs are resident and one
 * element is read back per run.
 */
import source from '../gemm.wgsl';
import { PassTimer } from './gpu-timer.js';
import { withErrorScopes } from './error-scope.js';
import { assertAlive, benchContext } from './context.js';
import { repeatCase } from './repeat.js';
import { normalArray } from '../random.js';
import { summarize } from '../stats.js';
import type { CaseSpec, CaseTiming } from '../types.js';

/** Rows (and columns) of C per workgroup (TILE in the WGSL). */
const TILE = 64;

let pipelinePromise: Promise<GPUComputePipeline> | undefined;

/** Time U·Uᵀ for U of shape 2N×D. */
export async function timeGemm(spec: CaseSpec): Promise<CaseTiming> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const { device } = ctx;
  const m = 2 * spec.n;
  const k4 = Math.ceil(spec.d / 4);
  pipelinePromise ??= device.createComputePipelineAsync({
    label: 'gemm',
    layout: 'auto',
    compute: { module: device.createShaderModule({ label: 'gemm', code: source }), entryPoint: 'main' },
  });
  const pipeline = await pipelinePromise;
  // U with each row padded to k4 vec4s (zeros), as the fused path's normalized rows are.
  const raw = normalArray(m * spec.d, spec.seed);
  const padded = new Float32Array(m * k4 * 4);
  for (let r = 0; r < m; r++) padded.set(raw.subarray(r * spec.d, (r + 1) * spec.d), r * k4 * 4);
  const u = device.createBuffer({ size: padded.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(u, 0, padded);
  const c = device.createBuffer({ size: m * m * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const params = device.createBuffer({ size: 8, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, new Uint32Array([m, k4]));
  const staging = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [params, u, c].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const timer = ctx.timestamps ? new PassTimer(device) : null;
  const groups = Math.ceil(m / TILE);
  const once = async () => {
    const t0 = performance.now();
    const encoder = device.createCommandEncoder();
    timer?.begin(encoder);
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups, groups);
    pass.end();
    timer?.end(encoder);
    encoder.copyBufferToBuffer(c, 0, staging, 0, 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const value = new Float32Array(staging.getMappedRange())[0]!;
    staging.unmap();
    const wallMs = performance.now() - t0;
    return { wallMs, gpuMs: timer ? await timer.read() : null, value };
  };
  try {
    const r = await withErrorScopes(device, `gemm N=${spec.n} D=${spec.d}`, () => repeatCase(spec, once));
    assertAlive(ctx);
    // C[0][0] = ‖U₀‖²: a wrong kernel would not reproduce it.
    let want = 0;
    for (let k = 0; k < spec.d; k++) want += raw[k]! * raw[k]!;
    if (Math.abs(r.value - want) > 1e-4 * want) throw new Error(`gemm C[0][0] = ${r.value}, expected ‖U₀‖² = ${want}`);
    return {
      wallMs: r.wallMs,
      gpuMs: r.gpuMs.length ? summarize(r.gpuMs).median : null,
      peakBytes: u.size + c.size + params.size + staging.size + (timer ? PassTimer.BYTES : 0),
      value: r.value,
      warmup: r.warmup,
    };
  } finally {
    for (const b of [u, c, params, staging]) b.destroy();
    timer?.destroy();
  }
}
