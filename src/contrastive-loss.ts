/**
 * The public face of the dispatcher: `create`, `encode`, `compute`, `destroy`, the memory
 * counters and device loss. What a call does lives in the rooms below it: options.ts (the option
 * schema), validate.ts (inputs), plan.ts (workspace sizes, uniforms, pass sequence),
 * pipelines.ts (compiled once per device) and lifetime.ts (which buffers live how long).
 */
import type { KernelName } from './kernels.js';
import { BindGroupCache } from './bind-groups.js';
import { TrackedBuffers } from './gpu-memory.js';
import { BufferLifetimes } from './lifetime.js';
import { checkKnownKeys, DIAGNOSTIC_NAMES, isGpuBank, isGpuLabels, resolveOptions, type Diagnostics, type GpuBank, type LossOptions, type ResolvedLossOptions } from './options.js';
import { compilePipelines, compilePipelinesSync, type Pipelines } from './pipelines.js';
import { F32, gpuParamFields, planLoss, targetWorkgroupsFor, withoutGpuFields, type AdapterTraits, type BindingRef, type ConstantName, type InputName, type LossPlan, type OutputName } from './plan.js';
import { checkBiasParams, checkEncodeBuffers, checkEncoder, checkFloat32Views, checkLabels, checkLabelsBuffer, checkLimits, checkShape, checkTargetWorkgroups, checkTemperatureParams, checkViews, describeType } from './validate.js';
import { requestDevice } from './runtime/index.js';

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
  /** ℓ_a per anchor: 2N values (z1 rows first, then z2 rows), or N (the z1 rows) in bank form. */
  perAnchor: GPUBuffer;
  /** N×D: ∂(upstream·L)/∂z1. Absent on the forward-only path. */
  gradZ1?: GPUBuffer;
  /** N×D: ∂(upstream·L)/∂z2. Absent on the forward-only path. */
  gradZ2?: GPUBuffer;
  /**
   * 1 value: ∂(upstream·L)/∂τ (with `options.gradTemperature`; forward-only runs write it too).
   * CLIP's `logit_scale = log(1/τ)` has gradient `−τ·∂L/∂τ`.
   */
  gradTemperature?: GPUBuffer;
  /**
   * 4 values (with `options.diagnostics`), in the order of `DIAGNOSTIC_NAMES`: alignment,
   * uniformity, positiveProbability, npcMultiplier. Not scaled by the upstream gradient.
   */
  diagnostics?: GPUBuffer;
  /** 1 value: ∂(upstream·L)/∂b (siglip with `options.gradBias`). */
  gradBias?: GPUBuffer;
}

/**
 * What {@link ContrastiveLoss.encode} returns for a given `backward`: `gradZ1` and `gradZ2` are
 * present when it is `true` (the default), absent when `false`, and optional when only known
 * to be a `boolean`.
 */
export type EncodeOutputs<B extends boolean = boolean> = LossOutputs & Gradients<B, GPUBuffer>;

/** `gradZ1`/`gradZ2` of type `T`: required for `backward: true`, absent for `false`, optional for `boolean`. */
export type Gradients<B extends boolean, T> = boolean extends B
  ? { gradZ1?: T; gradZ2?: T }
  : B extends true
    ? { gradZ1: T; gradZ2: T }
    : { gradZ1?: undefined; gradZ2?: undefined };

/** Arguments of {@link ContrastiveLoss.encode}. */
export interface EncodeArgs {
  /** First view, f32 row-major N×D, usage STORAGE. Never written. */
  z1: GPUBuffer;
  /** Second view, same shape. Never written. */
  z2: GPUBuffer;
  /** Batch size N ≥ 2 (N ≥ 1 in bank form). */
  n: number;
  /** Embedding width D ≥ 1. */
  d: number;
  /**
   * Loss and its options (defaults per docs/FORMULAS.md). A bank is given here as `{ buffer, k }`: f32
   * K×D rows, usage STORAGE, never written, and it must not be one of the outputs.
   */
  options: LossOptions;
  /** Run the backward pass too (default true). */
  backward?: boolean;
  /**
   * Upstream gradient ∂out/∂L for chaining (default 1): a number, or a GPU buffer whose first
   * f32 holds it (read on the GPU, so no CPU round trip).
   */
  gradScale?: number | GPUBuffer;
  /**
   * The temperature read on the GPU (a learnable τ, e.g. a framework's variable): a buffer
   * (usage COPY_SRC) whose first two f32 are `1/τ` and `1/(τ·m)` (m = `dtM`; any finite value
   * for the other losses). They are copied into the kernels' uniforms on the GPU timeline,
   * ahead of this call's passes, so τ never has to be read back; `options.temperature` must
   * then be left out. The CPU cannot check this τ; the kernels make every output NaN when 1/τ is
   * ≤ 0 or not finite, or 1/(τ·m) is not finite. A positive τ too small for the option range
   * (1/τ finite but beyond 1e12) is not caught: guard it where the two floats are computed.
   */
  temperatureParams?: GPUBuffer;
  /**
   * siglip's bias read on the GPU (a learnable b): a buffer (usage COPY_SRC) whose first f32 is b,
   * copied into the kernels' uniform on the GPU timeline like `temperatureParams`; `options.bias`
   * must then be left out. A b that is not finite makes every output NaN.
   */
  biasParams?: GPUBuffer;
  /**
   * Output buffers to write into (usage STORAGE, large enough). Missing ones are created and
   * returned; the caller then owns them and destroys them.
   */
  outputs?: Partial<LossOutputs>;
}

/** Every key {@link EncodeArgs} may have (anything else is refused as a likely typo). */
const ENCODE_ARG_NAMES: readonly (keyof EncodeArgs)[] = ['z1', 'z2', 'n', 'd', 'options', 'backward', 'gradScale', 'temperatureParams', 'biasParams', 'outputs'];

/** The 6th argument of {@link ContrastiveLoss.compute}. */
export interface ComputeControls<B extends boolean = boolean> {
  /** Run the backward pass too and return `gradZ1`/`gradZ2` (default true). `false`: forward only, no backward work dispatched. */
  backward?: B;
}

/** Result of the Float32Array convenience path. */
export interface LossResult {
  /** The reported mean loss L. */
  loss: number;
  /** ℓ_a for the 2N anchors (N in bank form). */
  perAnchor: Float32Array;
  /** ∂L/∂z1 (N×D), absent for forward-only runs. */
  gradZ1?: Float32Array;
  /** ∂L/∂z2 (N×D), absent for forward-only runs. */
  gradZ2?: Float32Array;
  /** ∂L/∂τ, with `options.gradTemperature`. */
  gradTemperature?: number;
  /** The batch diagnostics, with `options.diagnostics`. */
  diagnostics?: Diagnostics;
  /** ∂L/∂b (siglip), with `options.gradBias`. */
  gradBias?: number;
}

/**
 * The device under a {@link ContrastiveLoss} was lost or destroyed. Every call made after the
 * loss, and every `compute` still waiting on the GPU when it happened, rejects with this.
 */
export class DeviceLostError extends Error {
  /** `device.lost`'s reason: `'destroyed'` (someone called `device.destroy()`) or `'unknown'`. */
  readonly reason: string;
  constructor(info: { reason?: string; message?: string }) {
    const reason = info.reason ?? 'unknown';
    super(
      `the GPUDevice was lost or destroyed (reason "${reason}"${info.message ? `: ${info.message}` : ''}); ` +
        'create a new ContrastiveLoss on a live device',
    );
    this.name = 'DeviceLostError';
    this.reason = reason;
  }
}

/** What {@link CreateOptions.onProgress} is told while {@link ContrastiveLoss.create} works. */
export interface CreateProgress {
  /** `'compile'`: compiling the compute pipelines. */
  stage: string;
  /** Pipelines compiled so far (0 in the first event). */
  done: number;
  /** Pipelines in all. */
  total: number;
}

/** Options of {@link ContrastiveLoss.create}. */
export interface CreateOptions {
  /** Share this device (e.g. a framework's). Without it, one is requested from `navigator.gpu`, or in Node from Dawn (src/runtime/). */
  device?: GPUDevice;
  /**
   * Called as `create` compiles the pipelines: once with `done: 0`, then once per compiled
   * pipeline (`done` = 1 … `total`), stage `'compile'`. Compiling is what `create` spends its
   * time on (see {@link ContrastiveLoss.create}); an exception thrown here rejects `create`.
   */
  onProgress?: (event: CreateProgress) => void;
  /**
   * Workgroups each similarity-tile pass aims for by splitting the candidate axis (an integer
   * ≥ 1; 1 = no split). Default: 1024 on a GPU, enough to fill one with 100+ multiprocessors at
   * any batch size; 1 on a CPU adapter (SwiftShader, llvmpipe, WARP), where each workgroup has
   * a setup cost and only a few run at once. Results agree either way within f32 rounding.
   */
  targetWorkgroups?: number;
}

/** Every key {@link CreateOptions} may have. */
const CREATE_OPTION_NAMES: readonly (keyof CreateOptions)[] = ['device', 'onProgress', 'targetWorkgroups'];

/** Why a `compute` still waiting on the GPU fails when its `ContrastiveLoss` is destroyed under it. */
const DESTROYED_WHILE_PENDING =
  'this ContrastiveLoss was destroyed while compute() was waiting on the GPU; the call has no result ' +
  '(await every compute() before calling destroy())';

/** Fused contrastive losses on one GPUDevice. Create with {@link ContrastiveLoss.create}. */
export class ContrastiveLoss {
  /** The device everything runs on. */
  readonly device: GPUDevice;
  private readonly pipelines: Pipelines;
  private readonly buffers: TrackedBuffers;
  private readonly lifetimes: BufferLifetimes;
  private readonly bindGroups: BindGroupCache;
  /** Set when `device.lost` resolves. */
  private lostInfo: GPUDeviceLostInfo | undefined;
  /** Rejects with a {@link DeviceLostError} when the device is lost; never resolves otherwise. */
  private readonly whenLost: Promise<never>;
  private destroyed = false;
  private readonly ownsDevice: boolean;
  /** Workgroups each tile pass aims for ({@link CreateOptions.targetWorkgroups}). */
  readonly targetWorkgroups: number;

  private constructor(device: GPUDevice, pipelines: Pipelines, ownsDevice: boolean, targetWorkgroups: number | undefined) {
    this.device = device;
    this.pipelines = pipelines;
    this.ownsDevice = ownsDevice;
    this.targetWorkgroups = targetWorkgroups ?? targetWorkgroupsFor((device as GPUDevice & { adapterInfo?: AdapterTraits }).adapterInfo);
    this.buffers = new TrackedBuffers(device);
    this.lifetimes = new BufferLifetimes(device, this.buffers);
    this.bindGroups = new BindGroupCache(device);
    this.whenLost = device.lost.then((info) => {
      this.lostInfo = info;
      throw new DeviceLostError(info);
    });
    this.whenLost.catch(() => {}); // observed by checkUsable and untilLost; not an unhandled rejection
  }

  /**
   * Compile every pipeline once, on the given device or a newly requested one.
   *
   * Cost: compiling the kernels' pipelines is what `create` spends its time on, once per device
   * (a second `create` on the same device gets the compiled pipelines back from the device's
   * cache: 1–30 ms). On SwiftShader (WebGPU on the CPU, where there is no GPU) that takes tens
   * of seconds. Measured on a busy 2-core machine (load 7–16): 9–17 s in headless Chromium, 23–27 s
   * on Dawn in Node (the `webgpu` package); the issue saw 8–60 s. Of the six kernels,
   * `anchor_stats` takes about 60 % (8.3 s of 14 s compiled one at a time) and `grad_rows` 25 %.
   * On a real GPU expect a fraction of this. Pass `onProgress` to show it, and create one
   * `ContrastiveLoss` per device and keep it: every loss and option runs on the same pipelines,
   * so compiling per loss would not make any loss's first call cheaper.
   */
  static async create(options: CreateOptions = {}): Promise<ContrastiveLoss> {
    if (typeof options !== 'object' || options === null) throw new TypeError(`create takes ({ device?, onProgress?, targetWorkgroups? }), got ${describeType(options)}`);
    checkKnownKeys('create option', options, CREATE_OPTION_NAMES);
    checkTargetWorkgroups(options.targetWorkgroups);
    const { onProgress } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError(`onProgress must be a function, got ${describeType(onProgress)}`);
    const device = options.device ?? (await requestDevice());
    const lost = device.lost.then((info) => {
      throw new DeviceLostError(info);
    });
    lost.catch(() => {});
    // A device lost while the kernels compile would leave the compile pending or give invalid
    // pipelines: race it against device.lost.
    const compiled = compilePipelines(device, onProgress && ((done, total) => onProgress({ stage: 'compile', done, total })));
    return new ContrastiveLoss(device, await Promise.race([compiled, lost]), !options.device, options.targetWorkgroups);
  }

  /**
   * Synchronous variant of {@link ContrastiveLoss.create} on a caller's device, for framework
   * adapters whose ops must return synchronously (the TensorFlow.js op). Pipelines are built with
   * `createComputePipeline`, so a kernel that failed to compile surfaces as a device validation
   * error instead of an exception. The caller keeps ownership of the device.
   */
  static createSync(options: { device: GPUDevice; targetWorkgroups?: number }): ContrastiveLoss {
    checkTargetWorkgroups(options.targetWorkgroups);
    return new ContrastiveLoss(options.device, compilePipelinesSync(options.device), false, options.targetWorkgroups);
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
   * throws before creating or encoding anything on bad input. Returns the output buffers, typed
   * by `backward`: with `true` or no `backward`, `gradZ1`/`gradZ2` are present (no `!` needed).
   * Read them with {@link readOutputs} once you have submitted the encoder.
   */
  encode<B extends boolean = true>(encoder: GPUCommandEncoder, args: EncodeArgs & { backward?: B }): EncodeOutputs<B> {
    this.checkUsable();
    checkEncoder(encoder);
    if (typeof args !== 'object' || args === null) throw new TypeError('encode takes (encoder, { z1, z2, n, d, options, ... })');
    checkKnownKeys('encode argument', args, ENCODE_ARG_NAMES);
    const { n, d } = args;
    const opts = resolveOptions(args.options, d);
    checkShape(n, d, opts.bankRows > 0 ? 1 : 2);
    const bank = args.options.bank;
    if (bank !== undefined && !isGpuBank(bank)) {
      throw new TypeError('encode takes the bank as { buffer: GPUBuffer, k } (f32 K×D rows, usage STORAGE); compute() takes a Float32Array bank');
    }
    const backward = checkBackward(args.backward);
    const plan = this.planWithinLimits(n, d, opts, backward);
    if (args.outputs === null || (args.outputs !== undefined && typeof args.outputs !== 'object')) {
      throw new TypeError(`outputs must be an object of GPUBuffers like { loss, perAnchor, gradZ1, gradZ2 } (or left out), got ${describeType(args.outputs)}`);
    }
    const given = args.outputs ?? {};
    checkKnownKeys('output', given, Object.keys(plan.outputBytes));
    if (args.temperatureParams !== undefined) checkTemperatureParams(args.temperatureParams, args.options, given);
    if (args.biasParams !== undefined) checkBiasParams(args.biasParams, opts.loss, args.options, given);
    const labels = args.options.labels;
    if (labels !== undefined) {
      if (!isGpuLabels(labels)) throw new TypeError('encode takes labels as a GPUBuffer (N u32/i32 values, usage STORAGE); compute() takes an Int32Array');
      checkLabelsBuffer(labels, n, given);
    }
    const bankArg = bank && { buffer: (bank as GpuBank).buffer, bytes: opts.bankRows * d * F32 };
    checkEncodeBuffers(
      { z1: args.z1, z2: args.z2, gradScale: args.gradScale, bank: bankArg, outputs: given },
      n * d * F32,
      plan.outputBytes,
      plan.outputs,
    );

    const ws = this.lifetimes.workspaceFor(plan.workspaceKey, plan.workspaceBytes, STORAGE);
    const out = {} as LossOutputs;
    for (const name of plan.outputs) out[name] = given[name] ?? this.newOutput(name, plan);
    const upstream =
      typeof args.gradScale === 'object' ? args.gradScale : this.lifetimes.constant('up', new Float32Array([args.gradScale ?? 1]), STORAGE);
    const constants: Partial<Record<ConstantName, GPUBuffer>> = {};
    const gpuFields = gpuParamFields(args.temperatureParams, args.biasParams);
    for (const [name, data] of Object.entries(plan.constants) as [ConstantName, Uint32Array][]) {
      const fields = gpuFields.filter((f) => f.constant === name);
      // A uniform whose τ (or b) is copied in on the GPU is its own cache entry; every call that
      // binds it copies its values first, and the GPU runs commands in order, so each call reads its own.
      constants[name] =
        fields.length === 0
          ? this.lifetimes.constant(name, data, UNIFORM)
          : this.lifetimes.constant(`${name}, GPU ${fields.map((f) => f.what).join(' ')}`, withoutGpuFields(data, fields), UNIFORM);
    }
    for (const f of gpuFields) encoder.copyBufferToBuffer(f.source, 0, constants[f.constant]!, f.byteOffset, f.bytes);
    const inputs: Record<InputName, GPUBuffer | undefined> = {
      z1: args.z1,
      z2: args.z2,
      bank: bankArg?.buffer,
      labels: labels as GPUBuffer | undefined,
    };
    const resolve = (ref: BindingRef): GPUBuffer => {
      switch (ref.kind) {
        case 'input':
          return inputs[ref.name]!;
        case 'output':
          return out[ref.name]!;
        case 'workspace':
          return ws[ref.name];
        case 'constant':
          return constants[ref.name]!;
        case 'upstream':
          return upstream;
      }
    };

    const pass = encoder.beginComputePass({ label: `webgpu-contrastive ${opts.loss}` });
    for (const p of plan.passes) this.dispatch(pass, p.kernel, p.bindings.map(resolve), p.grid);
    pass.end();
    return out as EncodeOutputs<B>;
  }

  /**
   * Convenience path: Float32Arrays in, loss and gradients out. Validates the values on the CPU
   * (shape, N ≥ 2, finiteness; the bank too) and the device's limits before uploading anything,
   * then uploads, runs, reads back, and destroys what it created. A bank is a Float32Array of K×D
   * values here (a GPU bank `{ buffer, k }` works too). `controls`: `{ backward: false }` for
   * the loss alone (no backward work dispatched, no gradients returned).
   */
  compute<B extends boolean = true>(
    z1: Float32Array,
    z2: Float32Array,
    n: number,
    d: number,
    options: LossOptions,
    controls?: ComputeControls<B>,
  ): Promise<LossResult & Gradients<B, Float32Array>>;
  /** @deprecated A bare boolean as 6th argument: write `compute(z1, z2, n, d, options, { backward })`. */
  compute<B extends boolean>(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions, backward: B): Promise<LossResult & Gradients<B, Float32Array>>;
  async compute(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions, controls?: ComputeControls | boolean): Promise<LossResult> {
    this.checkUsable();
    const opts = resolveOptions(options, d);
    checkFloat32Views(z1, z2);
    const backward = backwardOf(controls);
    checkViews(z1, z2, n, d, opts.bankRows > 0 ? 1 : 2);
    if (options.bank instanceof Float64Array) {
      throw new TypeError('compute() takes the bank as a Float32Array (K×D f32 values), got a Float64Array');
    }
    const plan = this.planWithinLimits(n, d, opts, backward);
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
      let gpuOptions = options;
      if (options.bank instanceof Float32Array) {
        const bb = make('bank', options.bank.byteLength, STORAGE | COPY_DST);
        this.device.queue.writeBuffer(bb, 0, options.bank.buffer, options.bank.byteOffset, options.bank.byteLength);
        gpuOptions = { ...options, bank: { buffer: bb, k: opts.bankRows } };
      }
      if (options.labels !== undefined) {
        checkLabels(options.labels, n);
        const bl = make('labels', options.labels.byteLength, STORAGE | COPY_DST);
        this.device.queue.writeBuffer(bl, 0, options.labels.buffer, options.labels.byteOffset, options.labels.byteLength);
        gpuOptions = { ...gpuOptions, labels: bl };
      }
      const outputs: Partial<LossOutputs> = {};
      for (const name of plan.outputs) outputs[name] = make(name, plan.outputBytes[name], OUTPUT_USAGE);
      const encoder = this.device.createCommandEncoder();
      const out = this.encode(encoder, { z1: bz1, z2: bz2, n, d, options: gpuOptions, backward, outputs });
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
      // Both scopes popped at once: the caller's device never keeps one of ours, whatever happens meanwhile.
      const [validation, oom] = await this.untilLost(Promise.all([this.device.popErrorScope(), this.device.popErrorScope()]));
      if (validation || oom) throw new Error(`WebGPU rejected the fused loss: ${(validation ?? oom)!.message}`);
      // destroy() meanwhile destroyed the staging buffer: mapping it would be a validation error on the device.
      if (this.destroyed) throw new Error(DESTROYED_WHILE_PENDING);
      await this.untilLost(staging.mapAsync(MAP_READ));
      const all = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      const view = (k: keyof LossOutputs, len: number) => all.slice(offsets[k]! / F32, offsets[k]! / F32 + len);
      const result: LossResult = { loss: all[offsets.loss! / F32]!, perAnchor: view('perAnchor', plan.anchors) };
      if (backward) {
        result.gradZ1 = view('gradZ1', n * d);
        result.gradZ2 = view('gradZ2', n * d);
      }
      if (opts.gradTemperature) result.gradTemperature = all[offsets.gradTemperature! / F32]!;
      if (opts.gradBias) result.gradBias = all[offsets.gradBias! / F32]!;
      if (opts.diagnostics) {
        const values = view('diagnostics', DIAGNOSTIC_NAMES.length);
        result.diagnostics = Object.fromEntries(DIAGNOSTIC_NAMES.map((name, i) => [name, values[i]!])) as unknown as Diagnostics;
      }
      return result;
    } catch (e) {
      throw await this.asLossError(e);
    } finally {
      for (const b of made) this.buffers.destroy(b);
    }
  }

  /** Release every buffer the dispatcher holds (and the device, if it requested it). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.bindGroups.clear();
    this.lifetimes.destroyAll();
    this.buffers.destroyAll();
    if (this.ownsDevice) this.device.destroy();
  }

  private checkUsable(): void {
    if (this.destroyed) throw new Error('this ContrastiveLoss was destroyed');
    if (this.lostInfo) throw new DeviceLostError(this.lostInfo);
  }

  /** `p`, or a {@link DeviceLostError} as soon as the device is lost (whichever comes first). */
  private untilLost<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.whenLost]);
  }

  /**
   * A failed GPU wait, told apart: when the device is lost, WebGPU rejects pending `mapAsync`
   * calls with an AbortError, and `device.lost` may resolve a little later. Wait briefly for it
   * so the caller sees the loss (with its reason), not the abort.
   */
  private async asLossError(e: unknown): Promise<unknown> {
    // Our own destroy() under a pending compute (its read-back buffer destroyed, or the device it owned).
    if (this.destroyed) return e instanceof Error && e.message === DESTROYED_WHILE_PENDING ? e : new Error(DESTROYED_WHILE_PENDING);
    if (e instanceof DeviceLostError || this.lostInfo) return this.lostInfo ? new DeviceLostError(this.lostInfo) : e;
    if (!(e instanceof Error) || (e.name !== 'AbortError' && e.name !== 'OperationError')) return e;
    const settled = await Promise.race([this.whenLost.catch((lost: unknown) => lost), new Promise((r) => setTimeout(r, 1000))]);
    return settled instanceof DeviceLostError ? settled : e;
  }

  /**
   * The plan of one call, refused with a RangeError naming N, D and K (and the most bank rows
   * that fit) when a buffer or grid is past the device's limits.
   */
  private planWithinLimits(n: number, d: number, opts: ResolvedLossOptions, backward: boolean): LossPlan {
    const plan = planLoss(n, d, opts, backward, this.targetWorkgroups);
    const largest = (k: number) => Math.max(...Object.values(planLoss(n, d, { ...opts, bankRows: k }, backward, this.targetWorkgroups).workspaceBytes));
    checkLimits(this.device.limits, { n, d, k: opts.bankRows }, plan.workspaceBytes, Math.max(...plan.passes.flatMap((p) => p.grid)), largest);
    return plan;
  }

  /** A new output buffer handed over to the caller, who then owns (and destroys) it. */
  private newOutput(name: OutputName, plan: LossPlan): GPUBuffer {
    const buf = this.buffers.create(name, plan.outputBytes[name], OUTPUT_USAGE);
    this.buffers.release(buf);
    return buf;
  }

  private dispatch(pass: GPUComputePassEncoder, kernel: KernelName, buffers: GPUBuffer[], grid: readonly [number, number, number]): void {
    const pipeline = this.pipelines[kernel];
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroups.get(pipeline, kernel, buffers));
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
  }
}

/** `backward` as given: true when absent; anything but `true`/`false` (`null` too) is refused. */
function checkBackward(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new TypeError(`backward must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** `backward` from compute's 6th argument: `{ backward }`, the deprecated bare boolean, or nothing. */
function backwardOf(controls: unknown): boolean {
  if (controls === undefined || typeof controls === 'boolean') return checkBackward(controls);
  if (typeof controls !== 'object' || controls === null) {
    throw new TypeError(`compute's 6th argument must be { backward?: boolean }, got ${JSON.stringify(controls) ?? describeType(controls)}`);
  }
  checkKnownKeys('compute control', controls, ['backward']);
  return checkBackward((controls as ComputeControls).backward);
}

/** Where a device comes from when none is given: src/runtime/ (navigator.gpu, else Dawn in Node). */
export { requestDevice } from './runtime/index.js';
