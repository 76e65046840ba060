/**
 * The typed dispatcher: runs the fused kernels of kernels/ on a GPUDevice.
 *
 * Pass order: normalize_rows → anchor_stats → loss_finalize → (backward) grad_rows →
 * normalize_backward. Everything it allocates is O(N·D): the 2N×2N similarity matrix is
 * recomputed tile by tile and never stored.
 */
import { KERNELS, TILES, type KernelName } from './kernels.js';
import { TrackedBuffers } from './gpu-memory.js';
import { checkViews, resolveOptions, type LossName, type LossOptions, type ResolvedLossOptions } from './options.js';

const LOSS_KIND: Record<LossName, number> = { ntxent: 0, dcl: 1, dclw: 2, flatnce: 3, dualtemp: 4 };
const F32 = 4;
const STORAGE = 0x0080; // GPUBufferUsage.STORAGE (the global is absent in Node)
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const UNIFORM = 0x0040;
const MAP_READ = 0x0001;
const OUTPUT_USAGE = STORAGE | COPY_SRC | COPY_DST;

/** GPU buffers the fused path writes. All f32. */
export interface LossOutputs {
  /** 1 value: the reported mean loss L. */
  loss: GPUBuffer;
  /** 2N values: ℓ_a per anchor (z1 rows first, then z2 rows). */
  perAnchor: GPUBuffer;
  /** N×D: ∂(upstream·L)/∂z1. Absent on the forward-only path. */
  gradZ1?: GPUBuffer;
  /** N×D: ∂(upstream·L)/∂z2. Absent on the forward-only path. */
  gradZ2?: GPUBuffer;
}

/** Arguments of {@link ContrastiveLoss.encode}. */
export interface EncodeArgs {
  /** First view, f32 row-major N×D, usage STORAGE. Never written. */
  z1: GPUBuffer;
  /** Second view, same shape. Never written. */
  z2: GPUBuffer;
  /** Batch size N ≥ 2. */
  n: number;
  /** Embedding width D ≥ 1. */
  d: number;
  /** Loss and its options (defaults per MATH.md). */
  options: LossOptions;
  /** Run the backward pass too (default true). */
  backward?: boolean;
  /**
   * Upstream gradient ∂out/∂L for chaining (default 1): a number, or a GPU buffer whose first
   * f32 holds it (read on the GPU, so no CPU round trip).
   */
  gradScale?: number | GPUBuffer;
  /**
   * Output buffers to write into (usage STORAGE, large enough). Missing ones are created and
   * returned; the caller then owns them and destroys them.
   */
  outputs?: Partial<LossOutputs>;
}

/** Result of the Float32Array convenience path. */
export interface LossResult {
  /** The reported mean loss L. */
  loss: number;
  /** ℓ_a for the 2N anchors. */
  perAnchor: Float32Array;
  /** ∂L/∂z1 (N×D), absent for forward-only runs. */
  gradZ1?: Float32Array;
  /** ∂L/∂z2 (N×D), absent for forward-only runs. */
  gradZ2?: Float32Array;
}

/** Temporaries for one (N, D) shape, reused across calls. */
interface Workspace {
  U: GPUBuffer;
  gU: GPUBuffer;
  norms: GPUBuffer;
  lse: GPUBuffer;
  lse2: GPUBuffer;
  cosPos: GPUBuffer;
  coefC: GPUBuffer;
  posCoef: GPUBuffer;
}

/** Options of {@link ContrastiveLoss.create}. */
export interface CreateOptions {
  /** Share this device (e.g. a framework's). Without it, one is requested from `navigator.gpu`. */
  device?: GPUDevice;
}

/** Fused contrastive losses on one GPUDevice. Create with {@link ContrastiveLoss.create}. */
export class ContrastiveLoss {
  /** The device everything runs on. */
  readonly device: GPUDevice;
  private readonly pipelines: Record<KernelName, GPUComputePipeline>;
  private readonly buffers: TrackedBuffers;
  private workspace: { key: string; ws: Workspace } | undefined;
  /**
   * Small uniform/scalar buffers, keyed by content, so a later writeBuffer never changes one that
   * an encoded but unsubmitted pass uses. Least recently used past 256 are destroyed.
   */
  private readonly constants = new Map<string, GPUBuffer>();
  private lost = false;
  private destroyed = false;
  private readonly ownsDevice: boolean;

  private constructor(device: GPUDevice, pipelines: Record<KernelName, GPUComputePipeline>, ownsDevice: boolean) {
    this.device = device;
    this.pipelines = pipelines;
    this.ownsDevice = ownsDevice;
    this.buffers = new TrackedBuffers(device);
    void device.lost.then(() => {
      this.lost = true;
    });
  }

  /** Compile every pipeline once, on the given device or a newly requested one. */
  static async create(options: CreateOptions = {}): Promise<ContrastiveLoss> {
    let device = options.device;
    const ownsDevice = !device;
    if (!device) device = await requestDevice();
    // Compiled concurrently: on a software adapter each kernel takes seconds.
    const entries = await Promise.all(
      (Object.entries(KERNELS) as [KernelName, (typeof KERNELS)[KernelName]][]).map(async ([key, spec]) => {
        const module = device.createShaderModule({ label: spec.name, code: spec.source });
        const layout = device.createBindGroupLayout({
          label: spec.name,
          entries: spec.bindings.map((type, binding) => ({
            binding,
            visibility: 0x4, // GPUShaderStage.COMPUTE
            buffer: { type },
          })),
        });
        try {
          const pipeline = await device.createComputePipelineAsync({
            label: spec.name,
            layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
            compute: { module, entryPoint: 'main' },
          });
          return [key, pipeline] as const;
        } catch (e) {
          const info = await module.getCompilationInfo();
          const msgs = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
          throw new Error(`kernel ${spec.name} failed to compile: ${(e as Error).message}\n${msgs}`);
        }
      }),
    );
    const pipelines = Object.fromEntries(entries) as Record<KernelName, GPUComputePipeline>;
    return new ContrastiveLoss(device, pipelines, ownsDevice);
  }

  /**
   * Synchronous variant of {@link ContrastiveLoss.create} on a caller's device, for framework
   * adapters whose ops must return synchronously (the TensorFlow.js op). Pipelines are built with
   * `createComputePipeline`, so a kernel that failed to compile surfaces as a device validation
   * error instead of an exception. The caller keeps ownership of the device.
   */
  static createSync(options: { device: GPUDevice }): ContrastiveLoss {
    const device = options.device;
    const pipelines = {} as Record<KernelName, GPUComputePipeline>;
    for (const [key, spec] of Object.entries(KERNELS) as [KernelName, (typeof KERNELS)[KernelName]][]) {
      const module = device.createShaderModule({ label: spec.name, code: spec.source });
      const layout = device.createBindGroupLayout({
        label: spec.name,
        entries: spec.bindings.map((type, binding) => ({ binding, visibility: 0x4, buffer: { type } })),
      });
      pipelines[key] = device.createComputePipeline({
        label: spec.name,
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
    }
    return new ContrastiveLoss(device, pipelines, false);
  }

  /** Bytes of GPU buffers the dispatcher holds now (workspace, constants, outputs it still owns). */
  get currentBytes(): number {
    return this.buffers.currentBytes;
  }

  /** Most bytes held at once since creation or {@link resetPeakBytes}. */
  get peakBytes(): number {
    return this.buffers.peakBytes;
  }

  /** Restart peak-memory accounting. */
  resetPeakBytes(): void {
    this.buffers.resetPeak();
  }

  /** Number of GPU buffers the dispatcher holds now. */
  get liveBufferCount(): number {
    return this.buffers.count;
  }

  /**
   * Encode the fused loss into `encoder` (GPU-resident path). Validates everything first and
   * throws before encoding anything on bad input. Returns the output buffers.
   */
  encode(encoder: GPUCommandEncoder, args: EncodeArgs): LossOutputs {
    this.checkUsable();
    const { n, d } = args;
    const opts = resolveOptions(args.options);
    checkShape(n, d);
    const backward = args.backward ?? true;
    const d4 = Math.ceil(d / 4);
    this.checkLimits(n, d4);
    const zBytes = n * d * F32;
    checkBuffer('z1', args.z1, zBytes, STORAGE);
    checkBuffer('z2', args.z2, zBytes, STORAGE);
    if (args.z1 === args.z2) throw new RangeError('z1 and z2 must be different buffers');
    if (args.gradScale !== undefined && typeof args.gradScale !== 'number') {
      checkBuffer('gradScale', args.gradScale, F32, STORAGE);
    } else if (args.gradScale !== undefined && !Number.isFinite(args.gradScale)) {
      throw new RangeError(`gradScale must be finite, got ${args.gradScale}`);
    }
    const given = args.outputs ?? {};
    for (const [name, size] of [
      ['loss', F32],
      ['perAnchor', 2 * n * F32],
      ['gradZ1', zBytes],
      ['gradZ2', zBytes],
    ] as const) {
      const b = given[name];
      if (b) {
        checkBuffer(`outputs.${name}`, b, size, STORAGE);
        if (b === args.z1 || b === args.z2) throw new RangeError(`outputs.${name} must not be an input buffer`);
      }
    }

    const ws = this.workspaceFor(n, d4);
    const out: LossOutputs = {
      loss: given.loss ?? this.handOver(this.buffers.create('loss', F32, OUTPUT_USAGE)),
      perAnchor: given.perAnchor ?? this.handOver(this.buffers.create('perAnchor', 2 * n * F32, OUTPUT_USAGE)),
    };
    if (backward) {
      out.gradZ1 = given.gradZ1 ?? this.handOver(this.buffers.create('gradZ1', zBytes, OUTPUT_USAGE));
      out.gradZ2 = given.gradZ2 ?? this.handOver(this.buffers.create('gradZ2', zBytes, OUTPUT_USAGE));
    }
    const upstream = typeof args.gradScale === 'object' ? args.gradScale : this.constant('up', new Float32Array([args.gradScale ?? 1]), STORAGE);

    const rows = 2 * n;
    const slice = Math.min(rows, TILES.rowsPerSlice);
    const normParams = this.constant('norm', new Uint32Array([n, d, d4, slice]), UNIFORM);
    const tileParams = this.constant('tile', packTileParams(n, d4, opts), UNIFORM);
    const finalParams = this.constant('final', packFinalParams(n, opts), UNIFORM);
    const rowGrid: [number, number] = [slice, Math.ceil(rows / slice)];
    const pairGrid: [number, number] = [Math.min(n, slice), Math.ceil(n / slice)];

    const pass = encoder.beginComputePass({ label: `webgpu-contrastive ${opts.loss}` });
    this.dispatch(pass, 'normalizeRows', [normParams, args.z1, args.z2, ws.U, ws.norms, ws.cosPos], pairGrid);
    this.dispatch(pass, 'anchorStats', [tileParams, ws.U, ws.lse, ws.lse2], [Math.ceil(rows / TILES.statsRows), 1]);
    this.dispatch(
      pass,
      'lossFinalize',
      [finalParams, ws.lse, ws.lse2, ws.cosPos, upstream, out.loss, out.perAnchor, ws.coefC, ws.posCoef],
      [1, 1],
    );
    if (backward) {
      this.dispatch(
        pass,
        'gradRows',
        [tileParams, ws.U, ws.lse, ws.coefC, ws.posCoef, ws.gU],
        [Math.ceil(rows / TILES.gradRows), Math.ceil(d4 / TILES.gradVec4Cols)],
      );
      this.dispatch(pass, 'normalizeBackward', [normParams, ws.U, ws.gU, ws.norms, out.gradZ1!, out.gradZ2!], rowGrid);
    }
    pass.end();
    return out;
  }

  /**
   * Convenience path: Float32Arrays in, loss and gradients out. Validates the values on the CPU
   * (shape, N ≥ 2, finiteness), uploads, runs, reads back, and destroys what it created.
   */
  async compute(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions, backward = true): Promise<LossResult> {
    this.checkUsable();
    resolveOptions(options);
    checkViews(z1, z2, n, d);
    const made: GPUBuffer[] = [];
    const make = (label: string, size: number, usage: number) => {
      const b = this.buffers.create(label, size, usage);
      made.push(b);
      return b;
    };
    try {
      const bz1 = make('z1', z1.byteLength, STORAGE | COPY_DST);
      const bz2 = make('z2', z2.byteLength, STORAGE | COPY_DST);
      this.device.queue.writeBuffer(bz1, 0, z1.buffer, z1.byteOffset, z1.byteLength);
      this.device.queue.writeBuffer(bz2, 0, z2.buffer, z2.byteOffset, z2.byteLength);
      const outputs: Partial<LossOutputs> = {
        loss: make('loss', F32, OUTPUT_USAGE),
        perAnchor: make('perAnchor', 2 * n * F32, OUTPUT_USAGE),
      };
      if (backward) {
        outputs.gradZ1 = make('gradZ1', z1.byteLength, OUTPUT_USAGE);
        outputs.gradZ2 = make('gradZ2', z1.byteLength, OUTPUT_USAGE);
      }
      const encoder = this.device.createCommandEncoder();
      const out = this.encode(encoder, { z1: bz1, z2: bz2, n, d, options, backward, outputs });
      const parts: [keyof LossOutputs, GPUBuffer][] = Object.entries(out) as [keyof LossOutputs, GPUBuffer][];
      const total = parts.reduce((s, [, b]) => s + b.size, 0);
      const staging = make('readback', total, MAP_READ | COPY_DST);
      let offset = 0;
      const offsets: Partial<Record<keyof LossOutputs, number>> = {};
      for (const [k, b] of parts) {
        encoder.copyBufferToBuffer(b, 0, staging, offset, b.size);
        offsets[k] = offset;
        offset += b.size;
      }
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.device.queue.submit([encoder.finish()]);
      const validation = await this.device.popErrorScope();
      const oom = await this.device.popErrorScope();
      if (validation || oom) throw new Error(`WebGPU rejected the fused loss: ${(validation ?? oom)!.message}`);
      await staging.mapAsync(0x0001);
      const all = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      const view = (k: keyof LossOutputs, len: number) => all.slice(offsets[k]! / F32, offsets[k]! / F32 + len);
      const result: LossResult = { loss: all[offsets.loss! / F32]!, perAnchor: view('perAnchor', 2 * n) };
      if (backward) {
        result.gradZ1 = view('gradZ1', n * d);
        result.gradZ2 = view('gradZ2', n * d);
      }
      return result;
    } finally {
      for (const b of made) this.buffers.destroy(b);
    }
  }

  /** Release every buffer the dispatcher holds (and the device, if it requested it). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.buffers.destroyAll();
    this.constants.clear();
    this.workspace = undefined;
    if (this.ownsDevice) this.device.destroy();
  }

  private checkUsable(): void {
    if (this.destroyed) throw new Error('this ContrastiveLoss was destroyed');
    if (this.lost) throw new Error('the GPUDevice was lost or destroyed; create a new ContrastiveLoss on a live device');
  }

  private checkLimits(n: number, d4: number): void {
    const lim = this.device.limits;
    const uBytes = 2 * n * d4 * 16;
    if (uBytes > lim.maxStorageBufferBindingSize || uBytes > lim.maxBufferSize) {
      throw new RangeError(
        `N=${n}, D≈${d4 * 4} needs a ${uBytes}-byte working buffer, over this device's limit ` +
          `(maxStorageBufferBindingSize ${lim.maxStorageBufferBindingSize}, maxBufferSize ${lim.maxBufferSize})`,
      );
    }
    const maxGroups = lim.maxComputeWorkgroupsPerDimension;
    const need = Math.max(Math.ceil((2 * n) / TILES.gradRows), Math.ceil(d4 / TILES.gradVec4Cols), Math.ceil((2 * n) / TILES.rowsPerSlice));
    if (need > maxGroups) throw new RangeError(`N=${n} needs ${need} workgroups along one dimension, over this device's ${maxGroups}`);
    if (lim.maxComputeWorkgroupStorageSize < 16384 || lim.maxComputeInvocationsPerWorkgroup < 256) {
      throw new RangeError('this device offers less than 16 KiB of workgroup storage or 256 invocations per workgroup');
    }
  }

  private handOver(buf: GPUBuffer): GPUBuffer {
    this.buffers.release(buf);
    return buf;
  }

  private workspaceFor(n: number, d4: number): Workspace {
    const key = `${n}x${d4}`;
    if (this.workspace?.key === key) return this.workspace.ws;
    if (this.workspace) for (const b of Object.values(this.workspace.ws)) this.buffers.destroy(b);
    const mat = 2 * n * d4 * 16;
    const vec = 2 * n * F32;
    const s = STORAGE;
    const ws: Workspace = {
      U: this.buffers.create('U', mat, s),
      gU: this.buffers.create('gU', mat, s),
      norms: this.buffers.create('norms', vec, s),
      lse: this.buffers.create('lse', vec, s),
      lse2: this.buffers.create('lse2', vec, s),
      cosPos: this.buffers.create('cosPos', vec, s),
      coefC: this.buffers.create('coefC', vec, s),
      posCoef: this.buffers.create('posCoef', vec, s),
    };
    this.workspace = { key, ws };
    return ws;
  }

  /** A small constant buffer, created once per distinct content. */
  private constant(kind: string, data: Uint32Array | Float32Array, usage: number): GPUBuffer {
    const key = `${kind}:${usage}:${Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length)).join(',')}`;
    let buf = this.constants.get(key);
    if (buf) {
      // Least recently used goes first: re-insert to mark as fresh.
      this.constants.delete(key);
      this.constants.set(key, buf);
    } else {
      if (this.constants.size >= 256) {
        const [oldKey, old] = this.constants.entries().next().value as [string, GPUBuffer];
        this.constants.delete(oldKey);
        this.buffers.destroy(old);
      }
      buf = this.buffers.create(`${kind} constants`, data.byteLength, usage | COPY_DST);
      this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      this.constants.set(key, buf);
    }
    return buf;
  }

  private dispatch(pass: GPUComputePassEncoder, kernel: KernelName, buffers: GPUBuffer[], grid: [number, number]): void {
    const pipeline = this.pipelines[kernel];
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    pass.dispatchWorkgroups(grid[0], grid[1]);
  }
}

function checkShape(n: number, d: number): void {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`N must be an integer ≥ 2 (no negatives with N = 1), got ${n}`);
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`D must be an integer ≥ 1, got ${d}`);
}

function checkBuffer(name: string, buf: GPUBuffer, bytes: number, usage: number): void {
  if (!buf || typeof buf.size !== 'number') throw new TypeError(`${name} must be a GPUBuffer`);
  if (buf.size < bytes) throw new RangeError(`${name} holds ${buf.size} bytes, needs at least ${bytes}`);
  if ((buf.usage & usage) !== usage) throw new RangeError(`${name} lacks usage STORAGE (usage flags ${buf.usage})`);
}

export function packTileParams(n: number, d4: number, o: ResolvedLossOptions): Uint32Array {
  const b = new ArrayBuffer(32);
  const u = new Uint32Array(b);
  const f = new Float32Array(b);
  u[0] = n;
  u[1] = 2 * n;
  u[2] = d4;
  u[3] = o.loss === 'dualtemp' ? 1 : 0;
  f[4] = 1 / o.temperature;
  f[5] = 1 / (o.temperature * o.dtM);
  return u;
}

export function packFinalParams(n: number, o: ResolvedLossOptions): Uint32Array {
  const b = new ArrayBuffer(32);
  const u = new Uint32Array(b);
  const f = new Float32Array(b);
  u[0] = n;
  u[1] = LOSS_KIND[o.loss];
  u[2] = o.weightGrad ? 1 : 0;
  f[4] = 1 / o.temperature;
  f[5] = 1 / (o.temperature * o.dtM);
  f[6] = 1 / o.sigma;
  return u;
}

/** Request a device with the adapter's largest buffer limits (large batches need them). */
export async function requestDevice(): Promise<GPUDevice> {
  if (typeof navigator === 'undefined' || !navigator.gpu) throw new Error('WebGPU is not available here (navigator.gpu is missing)');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter available');
  return adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
}
