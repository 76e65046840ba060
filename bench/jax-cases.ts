/**
 * The jax-js benchmark cases (no DOM: they run wherever jax-js has `navigator.gpu`). Each case
 * is one forward+backward of a loss with respect to both views z1, z2 (N×D), on jax-js's
 * WebGPU device, in one of two ways:
 *
 * - `fused`: {@link contrastiveValueAndGrad} with an identity-like encoder (the views are the
 *   parameters), i.e. the adapter's whole step: vjp, realize, the fused kernels, the pullback.
 * - `jax-ops`: `jit(valueAndGrad(jaxOpsLoss))`, the same loss written with jax-js ops and
 *   compiled by jax-js's own `jit` (kernel fusion).
 *
 * A run is timed from the call until the loss and both gradients are read back to the CPU
 * (`data()`), so both paths pay the same synchronization.
 */
import { Array as JaxArray, defaultDevice, getWebGPUDevice, init, jit, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import { contrastiveValueAndGrad, jaxContrastiveLoss } from '../src/jax/value-and-grad.js';
import { jaxOpsLoss } from '../src/jax/ops-losses.js';
import { mulberry32, gaussian } from '../src/random.js';
import type { LossOptions } from '../src/options.js';

/** The two ways of computing the loss and its gradients. */
export type JaxBenchPath = 'fused' | 'jax-ops';

/** Views as parameters: the encoder is the identity (two elementwise copies jax-js must make anyway for vjp outputs). */
type Views = { z1: JaxArray; z2: JaxArray };

/** The adapter and runtime, for the results file. */
export interface JaxBenchAdapter {
  vendor: string;
  architecture: string;
  description: string;
  runtime: string;
}

let live = 0;
let peak = 0;
let started: Promise<JaxBenchAdapter> | undefined;

/**
 * Start jax-js on webgpu (once) and count the bytes of GPU buffers alive on its device
 * (createBuffer wrapped; destroy unwrapped per buffer), for {@link JaxCaseTiming.newBytes}.
 */
export function jaxBenchReady(runtime: string): Promise<JaxBenchAdapter> {
  started ??= (async () => {
    const devices = await init('webgpu');
    if (!devices.includes('webgpu')) throw new Error(`jax-js started no webgpu backend (got ${devices.join(', ')})`);
    defaultDevice('webgpu');
    const device = getWebGPUDevice();
    const createBuffer = device.createBuffer;
    device.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
      const buffer = createBuffer.call(this, descriptor);
      live += buffer.size;
      peak = Math.max(peak, live);
      const destroy = buffer.destroy;
      let gone = false;
      buffer.destroy = function (this: GPUBuffer) {
        if (!gone) live -= buffer.size;
        gone = true;
        return destroy.call(this);
      };
      return buffer;
    };
    await jaxContrastiveLoss(); // compile the fused kernels outside any timing
    const info = device.adapterInfo;
    return { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', description: info?.description ?? '', runtime };
  })();
  return started;
}

function randomViews(n: number, d: number, seed: number): Views {
  const u = mulberry32(seed);
  const draw = () => np.array(Float32Array.from({ length: n * d }, () => gaussian(u))).reshape([n, d]);
  return { z1: draw(), z2: draw() };
}

/** A function computing [loss, {z1: ∂L/∂z1, z2: ∂L/∂z2}] for one path; consumes its argument. */
type Step = (views: Views) => Promise<[JaxArray, Views]>;

function makeStep(path: JaxBenchPath, options: LossOptions): Step & { dispose(): void } {
  if (path === 'fused') {
    const step = contrastiveValueAndGrad((v: Views) => [v.z1.mul(1), v.z2.mul(1)], options);
    return Object.assign(step, { dispose: () => {} });
  }
  const f = jit(valueAndGrad((v: Views) => jaxOpsLoss(v.z1, v.z2, options)));
  const step = async (v: Views) => f(v) as unknown as [JaxArray, Views];
  return Object.assign(step, { dispose: () => f.dispose() });
}

/** One case's timings and what the first run returned (for the reference check). */
export interface JaxCaseTiming {
  /** Wall-clock ms of each timed run (after the warm-up runs). */
  wallMs: number[];
  /** Bytes of GPU buffers newly created on the device during the first (warm-up) run, at its peak. */
  newBytes: number;
  /** The first run's loss and gradients, when `readResults`. */
  loss?: number;
  gradZ1?: Float32Array;
  gradZ2?: Float32Array;
  z1?: Float32Array;
  z2?: Float32Array;
}

/**
 * Time `warmup + repeats` runs of one (path, loss, N, D) case on fresh random views (seeded).
 * With `readResults`, the first run's views, loss and gradients come back for checking.
 */
export async function timeJaxCase(
  path: JaxBenchPath,
  options: LossOptions,
  n: number,
  d: number,
  warmup: number,
  repeats: number,
  readResults = false,
): Promise<JaxCaseTiming> {
  await jaxBenchReady('?');
  const step = makeStep(path, options);
  const views = randomViews(n, d, 1234 + n);
  const out: JaxCaseTiming = { wallMs: [], newBytes: 0 };
  try {
    if (readResults) {
      out.z1 = (await views.z1.ref.data()) as Float32Array;
      out.z2 = (await views.z2.ref.data()) as Float32Array;
    }
    await getWebGPUDevice().queue.onSubmittedWorkDone();
    for (let i = 0; i < warmup + repeats; i++) {
      const base = live;
      peak = live;
      const t = performance.now();
      const [loss, grads] = await step(tree.ref(views));
      const [l, g1, g2] = await Promise.all([loss.data(), grads.z1.data(), grads.z2.data()]);
      const ms = performance.now() - t;
      if (i === 0) {
        out.newBytes = peak - base;
        if (readResults) Object.assign(out, { loss: l[0], gradZ1: g1, gradZ2: g2 });
      }
      if (i >= warmup) out.wallMs.push(ms);
    }
    return out;
  } finally {
    tree.dispose(views);
    step.dispose();
  }
}
