/**
 * The adapter's compute ceiling: bench/fma-peak.wgsl (register-resident vec4 FMA chains) on the
 * shared device. The loop count grows until one dispatch runs for at least `targetMs`, then the
 * best of three dispatches gives the peak.
 */
import source from '../fma-peak.wgsl';
import { assertAlive, benchContext } from './context.js';
import { withErrorScopes } from './error-scope.js';
import type { FmaPeak } from '../types.js';

/** Invocations per workgroup (@workgroup_size in the WGSL). */
const WORKGROUP = 256;
/** Flops per invocation per loop trip: 32 vec4 FMAs = 128 FMAs = 256 flops. */
const FLOPS_PER_TRIP = 256;

/** Measure the peak f32 GFLOP/s of the shared device. */
export async function fmaPeak(workgroups: number, targetMs: number): Promise<FmaPeak> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const { device } = ctx;
  return withErrorScopes(device, 'fma-peak', async () => {
    const module = device.createShaderModule({ label: 'fma-peak', code: source });
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const out = device.createBuffer({ size: workgroups * WORKGROUP * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const staging = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const querySet = ctx.timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
    const resolved = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: out } },
      ],
    });
    /** One dispatch of `iterations` loop trips: ms (GPU time where available, else wall). */
    const run = async (iterations: number): Promise<number> => {
      const p = new ArrayBuffer(16);
      new Uint32Array(p)[0] = iterations;
      new Float32Array(p)[1] = 0.5;
      device.queue.writeBuffer(params, 0, p);
      const t0 = performance.now();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass(
        querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
      );
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(workgroups);
      pass.end();
      if (querySet) {
        encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
        encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16);
      } else {
        encoder.copyBufferToBuffer(out, 0, staging, 0, 16);
      }
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const wall = performance.now() - t0;
      const t = querySet ? new BigUint64Array(staging.getMappedRange().slice(0)) : null;
      staging.unmap();
      return t ? Number(t[1]! - t[0]!) / 1e6 : wall;
    };
    try {
      let iterations = 4;
      let ms = await run(iterations);
      while (ms < targetMs && iterations < 1 << 20) {
        iterations = Math.min(1 << 20, iterations * Math.min(16, Math.max(2, Math.ceil(targetMs / Math.max(ms, 1e-3)))));
        ms = await run(iterations);
      }
      let best = ms;
      for (let i = 0; i < 3; i++) best = Math.min(best, await run(iterations));
      const flops = workgroups * WORKGROUP * iterations * FLOPS_PER_TRIP;
      return { gflops: flops / (best * 1e6), flops, ms: best, timing: querySet ? 'gpu' : 'wall', workgroups, iterations };
    } finally {
      for (const b of [out, params, staging, resolved]) b.destroy();
      querySet?.destroy();
    }
  });
}
