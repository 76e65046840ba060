/**
 * Page functions for the dispatcher's lifetime, strictness and device-loss tests (issue 9):
 * many encodes of many shapes, losses and options before one submit, a `compute` in between,
 * the soak loop, aliasing and input errors, a device lost mid-call. Only `navigator.gpu` and
 * the device are used (no DOM), so a Node/Dawn harness can run them too.
 */
import { ContrastiveLoss, type LossOutputs } from '../../src/contrastive-loss.js';
import type { LossOptions } from '../../src/options.js';
import { mulberry32 } from '../../src/random.js';
import { bitwiseEqual, readBack, upload } from './gpu-io.js';
import { pageLoss } from './loss-runner.js';
import { pageDevice } from './smoke.js';

/** A pair of views, shared by jobs that name it by index. */
export interface ViewPair {
  z1: Float32Array;
  z2: Float32Array;
  n: number;
  d: number;
}

/** One `encode` call: which views, which options, forward only or not. */
export interface EncodeJob {
  input: number;
  options: LossOptions;
  backward: boolean;
}

/** What one encode wrote (read back after the single submit). */
export interface JobResult {
  loss: number;
  perAnchor: Float32Array;
  gradZ1?: Float32Array;
  gradZ2?: Float32Array;
}

/** Result of {@link encodeManyThenSubmit}. */
export interface ManyResult {
  results: JobResult[];
  /** What `compute` returned when it ran between the encodes and the submit. */
  computed?: JobResult;
  /** The validation error of the submit (null when none). */
  submitError: string | null;
  /** Inputs read back after everything equal what was uploaded, bit for bit. */
  inputsUnchanged: boolean;
  liveBufferCount: number;
  currentBytes: number;
}

const F32 = 4;
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A dispatcher of its own on the page's device, so counters start from zero. */
async function freshLoss(): Promise<ContrastiveLoss> {
  return ContrastiveLoss.create({ device: await pageDevice() });
}

/** Copies every output of `jobs` into one readback buffer; returns the values per job. */
async function readOutputs(device: GPUDevice, encoder: GPUCommandEncoder, outs: LossOutputs[]): Promise<() => Promise<JobResult[]>> {
  const parts = outs.flatMap((o) => [o.loss, o.perAnchor, ...(o.gradZ1 ? [o.gradZ1, o.gradZ2!] : [])]);
  const total = parts.reduce((s, b) => s + b.size, 0);
  const staging = device.createBuffer({ size: Math.max(4, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let offset = 0;
  for (const b of parts) {
    encoder.copyBufferToBuffer(b, 0, staging, offset, b.size);
    offset += b.size;
  }
  return async () => {
    await staging.mapAsync(GPUMapMode.READ);
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    let at = 0;
    const take = (b: GPUBuffer) => {
      const v = all.slice(at, at + b.size / F32);
      at += b.size / F32;
      return v;
    };
    return outs.map((o) => {
      const r: JobResult = { loss: take(o.loss)[0]!, perAnchor: take(o.perAnchor) };
      if (o.gradZ1) {
        r.gradZ1 = take(o.gradZ1);
        r.gradZ2 = take(o.gradZ2!);
      }
      return r;
    });
  };
}

/**
 * Encode every job into ONE encoder (outputs poisoned with NaN), optionally run `compute` on
 * other views in between, then submit once and read everything back.
 */
export async function encodeManyThenSubmit(inputs: ViewPair[], jobs: EncodeJob[], between?: ViewPair & { options: LossOptions }): Promise<ManyResult> {
  const cl = await freshLoss();
  const device = cl.device;
  const bufs = inputs.map((v) => ({ z1: upload(device, v.z1), z2: upload(device, v.z2) }));
  const made: GPUBuffer[] = [];
  const poisoned = (count: number) => {
    const b = upload(device, new Float32Array(count).fill(NaN), USAGE);
    made.push(b);
    return b;
  };
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  const outs = jobs.map((job) => {
    const v = inputs[job.input]!;
    const outputs: LossOutputs = { loss: poisoned(1), perAnchor: poisoned(2 * v.n) };
    if (job.backward) {
      outputs.gradZ1 = poisoned(v.n * v.d);
      outputs.gradZ2 = poisoned(v.n * v.d);
    }
    return cl.encode(encoder, { ...bufs[job.input]!, n: v.n, d: v.d, options: job.options, backward: job.backward, outputs });
  });
  let computed: JobResult | undefined;
  if (between) computed = await cl.compute(between.z1, between.z2, between.n, between.d, between.options);
  const collect = await readOutputs(device, encoder, outs);
  device.queue.submit([encoder.finish()]);
  const submitError = (await device.popErrorScope())?.message ?? null;
  const results = await collect();
  const inputsUnchanged = await sameAsUploaded(device, bufs, inputs);
  const counters = { liveBufferCount: cl.liveBufferCount, currentBytes: cl.currentBytes };
  for (const b of [...made, ...bufs.flatMap((x) => [x.z1, x.z2])]) b.destroy();
  cl.destroy();
  return { results, computed, submitError, inputsUnchanged, ...counters };
}

async function sameAsUploaded(device: GPUDevice, bufs: { z1: GPUBuffer; z2: GPUBuffer }[], inputs: ViewPair[]): Promise<boolean> {
  const back = await readBack(device, bufs.flatMap((b) => [b.z1, b.z2]));
  return inputs.every((v, i) => bitwiseEqual(back[2 * i]!, v.z1) && bitwiseEqual(back[2 * i + 1]!, v.z2));
}

/** One sampled result of the soak loop. */
export interface SoakSample extends JobResult {
  /** `${input}|${JSON.stringify(options)}|${backward}`: identical keys ran on identical inputs. */
  key: string;
  via: 'encode' | 'compute';
}

/** Result of {@link soak}. */
export interface SoakResult {
  samples: SoakSample[];
  calls: number;
  encodes: number;
  computes: number;
  submits: number;
  submitErrors: string[];
  /** Counters right after warm-up, their extremes after it, and at the end (before destroy). */
  warm: { live: number; bytes: number };
  afterWarm: { liveMin: number; liveMax: number; bytesMin: number; bytesMax: number };
  end: { live: number; bytes: number };
  afterDestroy: { live: number; bytes: number };
  ms: number;
  /** Time spent in encode calls, in submits (until the error scope settles), in compute calls. */
  encodeMs: number;
  submitMs: number;
  computeMs: number;
}

/**
 * `calls` mixed calls on one dispatcher: encodes of random (views, loss, τ, backward) into an
 * encoder submitted every `perSubmit` encodes, and `compute` calls in between (every
 * `computeEvery`-th call, while encodes wait unsubmitted). Every `sampleEvery`-th encode's
 * outputs are copied out right after it, in command order.
 */
export async function soak(
  inputs: ViewPair[],
  choices: {
    options: LossOptions[];
    calls: number;
    warmup: number;
    perSubmit: number;
    /** Submit every this-many-th encoder; the others are dropped unsubmitted (less GPU time on SwiftShader). */
    submitEvery: number;
    computeEvery: number;
    sampleEvery: number;
    seed: number;
  },
): Promise<SoakResult> {
  const t0 = performance.now();
  const cl = await freshLoss();
  const device = cl.device;
  const rand = mulberry32(choices.seed);
  const pick = (k: number) => Math.floor(rand() * k);
  const bufs = inputs.map((v) => ({ z1: upload(device, v.z1), z2: upload(device, v.z2) }));
  // The caller's output buffers, one set per input, reused by every encode of that input.
  const outBufs = inputs.map((v) => ({
    loss: device.createBuffer({ size: F32, usage: USAGE }),
    perAnchor: device.createBuffer({ size: 2 * v.n * F32, usage: USAGE }),
    gradZ1: device.createBuffer({ size: v.n * v.d * F32, usage: USAGE }),
    gradZ2: device.createBuffer({ size: v.n * v.d * F32, usage: USAGE }),
  }));
  const samples: SoakSample[] = [];
  const pendingReads: Promise<void>[] = [];
  /** Reads waiting for the submit of the encoder their copies are in. */
  let waiting: (() => Promise<void>)[] = [];
  const submitErrors: string[] = [];
  device.pushErrorScope('validation');
  let encoder = device.createCommandEncoder();
  let inEncoder = 0;
  let encodes = 0;
  let computes = 0;
  let submits = 0;
  let encodeMs = 0;
  let computeMs = 0;
  let submitMs = 0;
  let warm = { live: 0, bytes: 0 };
  const afterWarm = { liveMin: Infinity, liveMax: 0, bytesMin: Infinity, bytesMax: 0 };
  let encoders = 0;
  const willSubmit = () => encoders % choices.submitEvery === 0;
  const submit = async () => {
    const ts = performance.now();
    if (willSubmit()) {
      device.queue.submit([encoder.finish()]);
      submits++;
    } else {
      encoder.finish(); // dropped, never submitted: what it referenced must not leak either
    }
    encoders++;
    const err = await device.popErrorScope();
    submitMs += performance.now() - ts;
    if (err) submitErrors.push(err.message);
    pendingReads.push(...waiting.map((read) => read()));
    waiting = [];
    device.pushErrorScope('validation');
    encoder = device.createCommandEncoder();
    inEncoder = 0;
  };
  for (let call = 0; call < choices.calls; call++) {
    const input = pick(inputs.length);
    const v = inputs[input]!;
    const options = choices.options[pick(choices.options.length)]!;
    const backward = rand() < 0.5;
    const key = `${input}|${JSON.stringify(options)}|${backward}`;
    if (call % choices.computeEvery === choices.computeEvery - 1) {
      const tc = performance.now();
      const r = await cl.compute(v.z1, v.z2, v.n, v.d, options, { backward });
      computeMs += performance.now() - tc;
      computes++;
      if (computes % 2 === 0) samples.push({ key, via: 'compute', ...r });
    } else {
      const o = outBufs[input]!;
      const outputs: LossOutputs = backward ? o : { loss: o.loss, perAnchor: o.perAnchor };
      const te = performance.now();
      cl.encode(encoder, { ...bufs[input]!, n: v.n, d: v.d, options, backward, outputs });
      encodeMs += performance.now() - te;
      encodes++;
      inEncoder++;
      if (encodes % choices.sampleEvery === 0 && willSubmit()) {
        const collect = await readOutputs(device, encoder, [outputs]);
        waiting.push(async () => void samples.push({ key, via: 'encode', ...(await collect())[0]! }));
      }
      if (inEncoder >= choices.perSubmit) await submit();
    }
    if (call === choices.warmup - 1) warm = { live: cl.liveBufferCount, bytes: cl.currentBytes };
    if (call >= choices.warmup) {
      afterWarm.liveMin = Math.min(afterWarm.liveMin, cl.liveBufferCount);
      afterWarm.liveMax = Math.max(afterWarm.liveMax, cl.liveBufferCount);
      afterWarm.bytesMin = Math.min(afterWarm.bytesMin, cl.currentBytes);
      afterWarm.bytesMax = Math.max(afterWarm.bytesMax, cl.currentBytes);
    }
  }
  await submit();
  await device.popErrorScope();
  await Promise.all(pendingReads);
  const end = { live: cl.liveBufferCount, bytes: cl.currentBytes };
  cl.destroy();
  const afterDestroy = { live: cl.liveBufferCount, bytes: cl.currentBytes };
  for (const b of [...bufs.flatMap((x) => [x.z1, x.z2]), ...outBufs.flatMap((o) => Object.values(o))]) b.destroy();
  return { samples, calls: choices.calls, encodes, computes, submits, submitErrors, warm, afterWarm, end, afterDestroy, ms: performance.now() - t0, encodeMs, submitMs, computeMs };
}

/**
 * Run one bad call; returns `${error.name}: ${error.message}` (or 'no error'), followed by
 * ` [created N bytes]` when the refused call created GPU buffers before throwing.
 */
export async function strictError(kind: string): Promise<string> {
  const cl = await pageLoss();
  const device = cl.device;
  const n = 4;
  const d = 8;
  const z1 = upload(device, new Float32Array(n * d).fill(1));
  const z2 = upload(device, new Float32Array(n * d).fill(2));
  const out = () => ({
    loss: upload(device, new Float32Array(1)),
    perAnchor: upload(device, new Float32Array(2 * n)),
    gradZ1: upload(device, new Float32Array(n * d)),
    gradZ2: upload(device, new Float32Array(n * d)),
  });
  const o = out();
  const base = { z1, z2, n, d, options: { loss: 'dcl' as const } };
  const enc = () => device.createCommandEncoder();
  const f32 = new Float32Array(n * d).fill(1);
  const cases: Record<string, () => unknown> = {
    gradSame: () => cl.encode(enc(), { ...base, outputs: { ...o, gradZ2: o.gradZ1 } }),
    lossIsPerAnchor: () => cl.encode(enc(), { ...base, outputs: { loss: o.perAnchor, perAnchor: o.perAnchor } }),
    gradScaleIsLoss: () => cl.encode(enc(), { ...base, gradScale: o.loss, outputs: o }),
    outputIsInput: () => cl.encode(enc(), { ...base, outputs: { ...o, gradZ1: z2 } }),
    unknownOutput: () => cl.encode(enc(), { ...base, outputs: { gradz1: o.gradZ1 } as never }),
    unknownArg: () => cl.encode(enc(), { ...base, backwards: false } as never),
    backwardString: () => cl.encode(enc(), { ...base, backward: 'no' as never }),
    float64: () => cl.compute(new Float64Array(n * d) as never, f32, n, d, { loss: 'dcl' }),
    int32: () => cl.compute(f32, new Int32Array(n * d) as never, n, d, { loss: 'dcl' }),
    plainArray: () => cl.compute(Array.from(f32) as never, f32, n, d, { loss: 'dcl' }),
    typoTemperature: () => cl.encode(enc(), { ...base, options: { loss: 'dcl', temprature: 0.2 } as never }),
    typoDtM: () => cl.compute(f32, f32, n, d, { loss: 'dualtemp', dt_m: 3 } as never),
    weightGradString: () => cl.encode(enc(), { ...base, options: { loss: 'dclw', weightGrad: 'no' as never } }),
    tauTiny: () => cl.encode(enc(), { ...base, options: { loss: 'dcl', temperature: 1e-39 } }),
    sigmaTiny: () => cl.encode(enc(), { ...base, options: { loss: 'dclw', sigma: 1e-39 } }),
    tauMTiny: () => cl.encode(enc(), { ...base, options: { loss: 'dualtemp', temperature: 1e-6, dtM: 1e-7 } }),
    tauString: () => cl.encode(enc(), { ...base, options: { loss: 'dcl', temperature: '0.1' as never } }),
    // issue 19
    encoderUndefined: () => cl.encode(undefined as never, { ...base, outputs: o }),
    backwardNull: () => cl.encode(enc(), { ...base, backward: null as never }),
    gradScaleHuge: () => cl.encode(enc(), { ...base, gradScale: 1e39 }),
    missingLoss: () => cl.encode(enc(), { ...base, options: {} as never }),
    outputsNull: () => cl.encode(enc(), { ...base, outputs: null as never }),
  };
  cl.resetPeakBytes();
  const before = cl.currentBytes;
  const created = () => (cl.peakBytes > before ? ` [created ${cl.peakBytes - before} bytes]` : '');
  try {
    await cases[kind]!();
    return 'no error' + created();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}${created()}`;
  } finally {
    for (const b of [z1, z2, ...Object.values(o)]) b.destroy();
  }
}

/** Result of {@link deviceLossDuringCompute}. */
export interface LossReport {
  /** How the compute in flight when the device was destroyed ended. */
  pending: string;
  /** A compute called after the loss. */
  later: string;
  /** An encode called after the loss. */
  laterEncode: string;
  /** Milliseconds until the pending compute settled (never a hang). */
  ms: number;
}

/** Destroy a device while `compute` waits on the GPU; every call rejects with the package's error. */
export async function deviceLossDuringCompute(): Promise<LossReport> {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  const cl = await ContrastiveLoss.create({ device });
  const n = 64;
  const d = 32;
  const z = new Float32Array(n * d).map((_, i) => Math.sin(i));
  const describe = (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`;
  const t0 = performance.now();
  const inFlight = cl.compute(z, z.map((v) => v + 0.5), n, d, { loss: 'ntxent' }).then(
    () => 'resolved',
    (e) => describe(e),
  );
  device.destroy();
  const pending = await inFlight;
  const ms = performance.now() - t0;
  const later = await cl.compute(z, z, n, d, { loss: 'dcl' }).then(() => 'resolved', describe);
  let laterEncode = 'no error';
  try {
    const b = device.createBuffer({ size: n * d * 4, usage: GPUBufferUsage.STORAGE });
    cl.encode(device.createCommandEncoder(), { z1: b, z2: device.createBuffer({ size: n * d * 4, usage: GPUBufferUsage.STORAGE }), n, d, options: { loss: 'dcl' } });
  } catch (e) {
    laterEncode = describe(e);
  }
  return { pending, later, laterEncode, ms };
}
