/**
 * Page functions for issue 19's API and reliability cases (test/strict.test.ts): `destroy()`
 * under a pending `compute`, a bank past the device's limits, `readOutputs`, `create`'s
 * progress and `compute`'s controls. Each reports the error as `${name}: ${message}` and what
 * reached the device (uncaptured errors, buffers created). Only `navigator.gpu` and the device
 * are used (no DOM).
 */
import { ContrastiveLoss, type LossOutputs } from '../../src/contrastive-loss.js';
import { KERNELS } from '../../src/internal.js';
import { readOutputs } from '../../src/read-outputs.js';
import { upload } from './gpu-io.js';
import { pageLoss } from './loss-runner.js';
import { pageDevice } from './smoke.js';

const describe = (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`;

/** Views of N×D sine values (deterministic). */
function views(n: number, d: number): [Float32Array, Float32Array] {
  const z1 = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i));
  return [z1, z1.map((v, i) => v + 0.5 * Math.cos(3 * i))];
}

/**
 * Run `body` with an `uncapturederror` listener on `device`; resolves to its result and the
 * messages of the uncaptured errors, collected until the queue is idle and a task has passed.
 */
async function watchingDevice<T>(device: GPUDevice, body: () => Promise<T>): Promise<{ value: T; uncaptured: string[] }> {
  const uncaptured: string[] = [];
  const listen = (e: Event) => uncaptured.push((e as GPUUncapturedErrorEvent).error.message);
  device.addEventListener('uncapturederror', listen);
  try {
    const value = await body();
    await device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    return { value, uncaptured };
  } finally {
    device.removeEventListener('uncapturederror', listen);
  }
}

/** Result of {@link destroyWhileComputing}. */
export interface DestroyPendingReport {
  /** destroy() right after compute() returned its promise. */
  immediate: string;
  /** destroy() a task later (compute may be waiting on the error scopes, the map, or done). */
  later: string;
  /** Milliseconds until the immediate case settled. */
  ms: number;
  uncaptured: string[];
  /** Buffers the destroyed dispatchers still count. */
  live: number[];
}

/** Issue 19 case 1: `destroy()` while a `compute()` of the same instance waits on the GPU, on the caller's device. */
export async function destroyWhileComputing(): Promise<DestroyPendingReport> {
  const device = await pageDevice();
  const [z1, z2] = views(64, 32);
  const live: number[] = [];
  const once = async (delay: boolean) => {
    const cl = await ContrastiveLoss.create({ device }); // the page device's pipelines are compiled already: milliseconds
    const pending = cl.compute(z1, z2, 64, 32, { loss: 'ntxent' }).then(() => 'resolved', describe);
    if (delay) await new Promise((r) => setTimeout(r, 0));
    cl.destroy();
    const out = await pending;
    live.push(cl.liveBufferCount);
    return out;
  };
  const { value, uncaptured } = await watchingDevice(device, async () => {
    const t0 = performance.now();
    const immediate = await once(false);
    const ms = performance.now() - t0;
    return { immediate, ms, later: await once(true) };
  });
  return { ...value, uncaptured, live };
}

/** Result of {@link bankPastLimits}. */
export interface BankLimitReport {
  error: string;
  k: number;
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  /** Bytes the dispatcher held at most during the refused call (0: nothing was uploaded). */
  peakBytes: number;
  uncaptured: string[];
}

/**
 * A bank past the binding limit given to `compute()`. The page device's real limit is the
 * adapter's (GiBs), so the dispatcher runs on a view of it whose `limits` say 1 MiB.
 */
export async function bankPastLimits(): Promise<BankLimitReport> {
  const device = await pageDevice();
  const limits = { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 1 << 21 };
  const shownLimits = new Proxy(device.limits, { get: (t, p) => (p in limits ? limits[p as keyof typeof limits] : Reflect.get(t, p, t)) });
  const small = new Proxy(device, {
    get(t, p) {
      if (p === 'limits') return shownLimits;
      const v = Reflect.get(t, p, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  const cl = await ContrastiveLoss.create({ device: small });
  const n = 2;
  const d = 1;
  const k = (1 << 20) / 16; // (2N+K) rows of one vec4 each: 16 bytes over the limit
  const [z1, z2] = views(n, d);
  const bank = new Float32Array(k * d).fill(1);
  cl.resetPeakBytes();
  const { value: error, uncaptured } = await watchingDevice(device, () =>
    cl.compute(z1, z2, n, d, { loss: 'ntxent', bank }).then(() => 'resolved', describe),
  );
  const peakBytes = cl.peakBytes;
  cl.destroy();
  return { error, k, limits, peakBytes, uncaptured };
}

/** Result of {@link readOutputsRun}. */
export interface ReadOutputsReport {
  /** readOutputs of a full encode (gradients, ∂L/∂τ, diagnostics) equals compute(), bit for bit. */
  equalsCompute: boolean;
  /** The keys each read returned. */
  keys: string[];
  forwardKeys: string[];
  lengths: Record<string, number>;
  /** A second read of the same buffers equals the first (they stayed alive and unchanged). */
  secondReadEqual: boolean;
  /** Buffers readOutputs created, and how many of them it destroyed. */
  staging: { created: number; destroyed: number };
  /** Every caller buffer is unmapped afterwards. */
  unmapped: boolean;
  errors: Record<string, string>;
  uncaptured: string[];
}

const same = (a: Float32Array | undefined, b: Float32Array | number | undefined) =>
  a !== undefined && b !== undefined && (typeof b === 'number' ? a.length === 1 && Object.is(a[0], Math.fround(b)) : a.length === b.length && a.every((v, i) => Object.is(v, b[i])));

/** `readOutputs` against `compute` on the same inputs, its cleanup, and its errors. */
export async function readOutputsRun(): Promise<ReadOutputsReport> {
  const cl = await pageLoss();
  const device = cl.device;
  const n = 5;
  const d = 6;
  const [a, b] = views(n, d);
  const options = { loss: 'dcl' as const, temperature: 0.2, gradTemperature: true, diagnostics: true };
  const want = await cl.compute(a, b, n, d, options);
  const z1 = upload(device, a);
  const z2 = upload(device, b);
  const encoder = device.createCommandEncoder();
  const out = cl.encode(encoder, { z1, z2, n, d, options });
  const fwd = cl.encode(encoder, { z1, z2, n, d, options: { loss: 'dcl' }, backward: false });
  device.queue.submit([encoder.finish()]);

  // Count the buffers readOutputs creates and destroys (its staging buffer).
  const made: GPUBuffer[] = [];
  let destroyed = 0;
  const createBuffer = device.createBuffer;
  device.createBuffer = function (desc: GPUBufferDescriptor) {
    const buf = createBuffer.call(device, desc);
    made.push(buf);
    const destroy = buf.destroy;
    buf.destroy = () => {
      destroyed++;
      destroy.call(buf);
    };
    return buf;
  };
  const errors: Record<string, string> = {};
  const { value, uncaptured } = await watchingDevice(device, async () => {
    const got = await readOutputs(device, out);
    const again = await readOutputs(device, out);
    const forward = await readOutputs(device, fwd);
    const noCopy = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE });
    const gone = upload(device, new Float32Array(1));
    gone.destroy();
    const cases: Record<string, () => Promise<unknown>> = {
      notADevice: () => readOutputs(undefined as never, out),
      notAnObject: () => readOutputs(device, null as never),
      unknownName: () => readOutputs(device, { gradz1: out.gradZ1 } as never),
      notABuffer: () => readOutputs(device, { loss: new Float32Array(1) } as never),
      noCopySrc: () => readOutputs(device, { loss: noCopy }),
      destroyed: () => readOutputs(device, { perAnchor: out.perAnchor, loss: gone }),
    };
    for (const [name, call] of Object.entries(cases)) errors[name] = await call().then(() => 'no error', describe);
    noCopy.destroy();
    return { got, again, forward };
  });
  device.createBuffer = createBuffer;
  const { got, again, forward } = value;
  const keys = Object.keys(got);
  const report: ReadOutputsReport = {
    equalsCompute:
      same(got.loss, want.loss) &&
      same(got.perAnchor, want.perAnchor) &&
      same(got.gradZ1, want.gradZ1) &&
      same(got.gradZ2, want.gradZ2) &&
      same(got.gradTemperature, want.gradTemperature) &&
      same(got.diagnostics, Float32Array.from(Object.values(want.diagnostics!))),
    keys,
    forwardKeys: Object.keys(forward),
    lengths: Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.length])),
    secondReadEqual: keys.every((k) => same(got[k as keyof typeof got], again[k as keyof typeof again])),
    // The error cases' own buffers (noCopy, gone) are not readOutputs' staging.
    staging: { created: made.length - 2, destroyed: destroyed - 2 },
    unmapped: [...Object.values(out), ...Object.values(fwd)].every((buf: GPUBuffer) => buf.mapState === 'unmapped'),
    errors,
    uncaptured,
  };
  for (const buf of [z1, z2, ...Object.values(out as LossOutputs), ...Object.values(fwd as LossOutputs)]) buf?.destroy();
  return report;
}

/** Result of {@link createProgress}. */
export interface ProgressReport {
  events: { stage: string; done: number; total: number }[];
  kernels: number;
  /** A callback that throws at `done: 0` rejects `create` with its error. */
  throwing: string;
  errors: Record<string, string>;
}

/** `create`'s progress events on the page device (its pipelines are compiled already, so this is quick). */
export async function createProgress(): Promise<ProgressReport> {
  const device = await pageDevice();
  const events: ProgressReport['events'] = [];
  const cl = await ContrastiveLoss.create({ device, onProgress: (e) => events.push({ ...e }) });
  cl.destroy();
  const throwing = await ContrastiveLoss.create({
    device,
    onProgress: () => {
      throw new Error('stop');
    },
  }).then(() => 'resolved', describe);
  const errors = {
    typo: await ContrastiveLoss.create({ device, onProgres: () => {} } as never).then(() => 'resolved', describe),
    notAFunction: await ContrastiveLoss.create({ device, onProgress: 'log' as never }).then(() => 'resolved', describe),
  };
  return { events, kernels: Object.keys(KERNELS).length, throwing, errors };
}

/** What `compute` returned per 6th argument: the keys of the result. */
export async function computeControls(): Promise<Record<string, string>> {
  const cl = await pageLoss();
  const [a, b] = views(4, 3);
  const run = (controls: unknown) =>
    cl.compute(a, b, 4, 3, { loss: 'dcl' }, controls as never).then((r) => Object.keys(r).join(','), describe);
  return {
    none: await run(undefined),
    empty: await run({}),
    backwardFalse: await run({ backward: false }),
    backwardTrue: await run({ backward: true }),
    deprecatedFalse: await run(false),
    backwardNull: await run({ backward: null }),
    controlsNull: await run(null),
    typo: await run({ backwards: false }),
  };
}
