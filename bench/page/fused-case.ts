/**
 * The fused path, timed: ContrastiveLoss.encode (forward + backward) on the shared device with
 * inputs already resident, then the loss scalar read back with mapAsync.
 */
import { PassTimer } from './gpu-timer.js';
import { withErrorScopes } from './error-scope.js';
import { assertAlive, benchContext } from './context.js';
import { repeatCase } from './repeat.js';
import { benchLossOptions } from '../loss-options.js';
import { benchViews } from '../random.js';
import { summarize } from '../stats.js';
import type { BenchLoss, CaseSpec, CaseTiming } from '../types.js';
import type { LossOptions } from '../../src/options.js';

const STORAGE_IO = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * The buffers the bench itself owns for one fused case, and the options `encode` gets: the case's
 * options with SupCon's labels (an Int32Array) replaced by a GPU buffer of them owned here.
 */
export class FusedIo {
  readonly z1: GPUBuffer;
  readonly z2: GPUBuffer;
  readonly outputs: { loss: GPUBuffer; perAnchor: GPUBuffer; gradZ1: GPUBuffer; gradZ2: GPUBuffer };
  readonly staging: GPUBuffer;
  /** SupCon's N labels, resident (null for the other losses). */
  readonly labels: GPUBuffer | null;
  /** The options to encode with. */
  readonly options: LossOptions;

  constructor(device: GPUDevice, n: number, d: number, seed: number, options: LossOptions) {
    const { z1, z2 } = benchViews(n, d, seed);
    const make = (size: number, usage = STORAGE_IO) => device.createBuffer({ size: Math.max(4, size), usage });
    this.z1 = make(z1.byteLength);
    this.z2 = make(z2.byteLength);
    device.queue.writeBuffer(this.z1, 0, z1 as Float32Array<ArrayBuffer>);
    device.queue.writeBuffer(this.z2, 0, z2 as Float32Array<ArrayBuffer>);
    // perAnchor: 2N values (siglip's N fit in it).
    this.outputs = { loss: make(4), perAnchor: make(2 * n * 4), gradZ1: make(n * d * 4), gradZ2: make(n * d * 4) };
    this.staging = make(4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const labels = options.labels;
    if (labels instanceof Int32Array) {
      this.labels = make(labels.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(this.labels, 0, labels as Int32Array<ArrayBuffer>);
      this.options = { ...options, labels: this.labels };
    } else {
      this.labels = null;
      this.options = options;
    }
  }

  private get buffers(): GPUBuffer[] {
    return [this.z1, this.z2, this.staging, ...Object.values(this.outputs), ...(this.labels ? [this.labels] : [])];
  }

  /** Bytes of every buffer here. */
  get bytes(): number {
    return this.buffers.reduce((s, b) => s + b.size, 0);
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
  }
}

/**
 * `calls` fused forward+backward calls with the case's options (`io.options`: e.g. a GPU bank,
 * SupCon's labels buffer) encoded back to back in one command buffer, submitted once, the loss of
 * the last read back: one call is latency mode, more is a throughput batch. GPU ms spans all the calls.
 */
export async function fusedRun(n: number, d: number, io: FusedIo, timer: PassTimer | null, calls = 1) {
  const { device, fused } = await benchContext();
  const t0 = performance.now();
  const encoder = device.createCommandEncoder();
  timer?.begin(encoder);
  for (let i = 0; i < calls; i++) fused.encode(encoder, { z1: io.z1, z2: io.z2, n, d, options: io.options, backward: true, outputs: io.outputs });
  timer?.end(encoder);
  encoder.copyBufferToBuffer(io.outputs.loss, 0, io.staging, 0, 4);
  device.queue.submit([encoder.finish()]);
  await io.staging.mapAsync(GPUMapMode.READ);
  const value = new Float32Array(io.staging.getMappedRange())[0]!;
  io.staging.unmap();
  const wallMs = performance.now() - t0;
  const gpuMs = timer ? await timer.read() : null;
  return { wallMs, gpuMs, value };
}

/**
 * Time the fused path with `options` at (N, D) in latency and throughput modes; `extraBytes` are
 * buffers the caller holds for it (a bank), counted in its peak.
 */
export async function timeFusedWith(what: string, options: LossOptions, spec: CaseSpec, extraBytes = 0): Promise<CaseTiming> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const { n, d } = spec;
  const io = new FusedIo(ctx.device, n, d, spec.seed, options);
  const timer = ctx.timestamps ? new PassTimer(ctx.device) : null;
  try {
    const r = await withErrorScopes(ctx.device, what, () =>
      repeatCase(
        spec,
        () => fusedRun(n, d, io, timer),
        () => ctx.fused.resetPeakBytes(),
        (calls) => fusedRun(n, d, io, timer, calls),
      ),
    );
    assertAlive(ctx);
    const dispatcher = ctx.fused.peakBytes;
    return {
      wallMs: r.wallMs,
      gpuMs: r.gpuMs.length ? summarize(r.gpuMs).median : null,
      peakBytes: dispatcher + io.bytes + extraBytes + (timer ? PassTimer.BYTES : 0),
      peakBytesDispatcher: dispatcher,
      value: r.value,
      warmup: r.warmup,
      throughput: r.throughput,
    };
  } finally {
    io.destroy();
    timer?.destroy();
  }
}

/** Time the fused path for one loss and shape. */
export function timeFused(loss: BenchLoss, spec: CaseSpec): Promise<CaseTiming> {
  return timeFusedWith(`fused ${loss} N=${spec.n} D=${spec.d}`, benchLossOptions(loss, spec.n), spec);
}

/** One untimed-setup, single fused run at (N, D) for the max-batch probe: seconds, or a throw. */
export async function probeFused(loss: BenchLoss, n: number, d: number, seed: number): Promise<number> {
  const ctx = await benchContext();
  assertAlive(ctx);
  return withErrorScopes(ctx.device, `fused ${loss} N=${n} D=${d}`, async () => {
    const io = new FusedIo(ctx.device, n, d, seed, benchLossOptions(loss, n));
    try {
      const t0 = performance.now();
      const r = await fusedRun(n, d, io, null);
      assertAlive(ctx);
      if (!Number.isFinite(r.value)) throw new Error(`the loss read back is ${r.value}`);
      return (performance.now() - t0) / 1000;
    } finally {
      io.destroy();
    }
  });
}
