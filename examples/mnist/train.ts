/**
 * The MNIST demo's training and evaluation (browser side): a seeded data split, SimCLR-style
 * augmentations on the CPU, a 784→256→64 MLP trained with the fused op on the tfjs `webgpu`
 * backend, and a cosine kNN classifier on held-out digits. By default the augmented 28×28 views
 * are average-pooled to 14×14 before the encoder: on SwiftShader (WebGPU on the CPU) the first
 * layer's matmuls dominate a step, and this buys about 2× more steps in the same time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { contrastiveLoss, contrastiveLossDispatcher } from '../../src/tfjs/contrastive-loss-op.js';
import { enqueueKeys } from '../../src/tfjs/queue.js';
import { NegativeQueue } from '../../src/negative-queue.js';
import type { LossName } from '../../src/options.js';
import { gaussian, mulberry32 } from '../../src/random.js';

/** MNIST digits as bytes: `images` holds `count` 28×28 images, row-major, 0..255. */
export interface Digits {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Side of an MNIST image. */
export const SIDE = 28;
/** Pixels of an MNIST image. */
export const PIXELS = SIDE * SIDE;

/** Encoder input width for a pooling factor: 784 at 1 (28×28), 196 at 2 (14×14). */
export function inputWidth(pool: 1 | 2): number {
  return (SIDE / pool) ** 2;
}

/** Average-pool one 28×28 image (`src` at `offset`) by `pool` into `out` at `outOffset`. */
export function poolImage(src: ArrayLike<number>, offset: number, scale: number, pool: 1 | 2, out: Float32Array, outOffset: number): void {
  const side = SIDE / pool;
  const norm = scale / (pool * pool);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let s = 0;
      for (let dy = 0; dy < pool; dy++) for (let dx = 0; dx < pool; dx++) s += src[offset + (y * pool + dy) * SIDE + x * pool + dx]!;
      out[outOffset + y * side + x] = s * norm;
    }
  }
}


/** Fisher–Yates shuffle of 0..n−1. */
export function permutation(n: number, rand: () => number): Int32Array {
  const p = new Int32Array(n).map((_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The seeded split: an unlabeled training pool, a labeled kNN memory bank drawn from it, held-out test digits. */
export interface Split {
  train: Int32Array;
  bank: Int32Array;
  test: Int32Array;
}

/** Split the digits with `seed`: the last `testCount` (after shuffling) are held out, never trained on. */
export function splitDigits(count: number, testCount: number, bankCount: number, seed: number): Split {
  const p = permutation(count, mulberry32(seed ^ 0x5eed));
  const train = p.slice(0, count - testCount);
  return { train, bank: train.slice(0, bankCount), test: p.slice(count - testCount) };
}

/** Augmentation strengths. */
export interface AugmentOptions {
  /** Random resized crop: smallest kept area fraction. */
  minArea: number;
  /** Gaussian pixel noise σ. */
  noise: number;
  /** Probability of random erasing. */
  eraseProb: number;
}

/** Defaults used by the demo. */
export const AUGMENT: AugmentOptions = { minArea: 0.8, noise: 0.1, eraseProb: 0.5 };

/**
 * One SimCLR-style view of a digit, written to `out` (784 floats in [0, 1]): random resized crop
 * (area fraction in [minArea, 1], aspect ratio in [3/4, 4/3], bilinear back to 28×28, which also
 * shifts the digit), Gaussian noise, then random erasing of a rectangle (2–15% of the image).
 */
export function augment(src: Uint8Array, offset: number, out: Float32Array, outOffset: number, rand: () => number, o: AugmentOptions = AUGMENT): void {
  const area = (o.minArea + (1 - o.minArea) * rand()) * PIXELS;
  const ratio = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rand());
  const w = Math.min(SIDE, Math.sqrt(area * ratio));
  const h = Math.min(SIDE, Math.sqrt(area / ratio));
  const x0 = rand() * (SIDE - w);
  const y0 = rand() * (SIDE - h);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= SIDE || y >= SIDE ? 0 : src[offset + y * SIDE + x]! / 255);
  for (let y = 0; y < SIDE; y++) {
    const sy = y0 + ((y + 0.5) * h) / SIDE - 0.5;
    const iy = Math.floor(sy);
    const fy = sy - iy;
    for (let x = 0; x < SIDE; x++) {
      const sx = x0 + ((x + 0.5) * w) / SIDE - 0.5;
      const ix = Math.floor(sx);
      const fx = sx - ix;
      const v =
        (1 - fy) * ((1 - fx) * at(ix, iy) + fx * at(ix + 1, iy)) + fy * ((1 - fx) * at(ix, iy + 1) + fx * at(ix + 1, iy + 1));
      out[outOffset + y * SIDE + x] = Math.min(1, Math.max(0, v + o.noise * gaussian(rand)));
    }
  }
  if (rand() < o.eraseProb) {
    const ea = (0.02 + 0.13 * rand()) * PIXELS;
    const er = Math.exp(Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rand());
    const ew = Math.max(1, Math.min(SIDE, Math.round(Math.sqrt(ea * er))));
    const eh = Math.max(1, Math.min(SIDE, Math.round(Math.sqrt(ea / er))));
    const ex = Math.floor(rand() * (SIDE - ew + 1));
    const ey = Math.floor(rand() * (SIDE - eh + 1));
    for (let y = ey; y < ey + eh; y++) out.fill(0, outOffset + y * SIDE + ex, outOffset + y * SIDE + ex + ew);
  }
}

/** The encoder: h = relu(x·W1 + b1) (the representation kNN uses), z = h·W2 + b2 (the projection the loss sees). */
export interface Encoder {
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
}

/**
 * Glorot-uniform weights and zero biases for `input`-wide images, from `seed`. `trainable: false`
 * makes variables the optimizer leaves alone (MoCo's momentum encoder, updated by EMA instead).
 */
export function makeEncoder(input: number, hidden: number, out: number, seed: number, trainable = true): Encoder {
  const rand = mulberry32(seed);
  const glorot = (fanIn: number, fanOut: number) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return tf.tensor2d(new Float32Array(fanIn * fanOut).map(() => (2 * rand() - 1) * limit), [fanIn, fanOut]);
  };
  return {
    w1: tf.variable(glorot(input, hidden), trainable),
    b1: tf.variable(tf.zeros([hidden]), trainable),
    w2: tf.variable(glorot(hidden, out), trainable),
    b2: tf.variable(tf.zeros([out]), trainable),
  };
}

/** Dispose an encoder's variables. */
export function disposeEncoder(e: Encoder): void {
  tf.dispose([e.w1, e.b1, e.w2, e.b2]);
}

function represent(e: Encoder, x: tf.Tensor2D): tf.Tensor2D {
  return tf.relu(tf.add(tf.matMul(x, e.w1), e.b1)) as tf.Tensor2D;
}

function project(e: Encoder, h: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(h, e.w2), e.b2);
}

/** MoCo's extra settings: a queue of negatives filled by a momentum (EMA) copy of the encoder. */
export interface MocoConfig {
  /** K, rows of the negative queue (starts as random unit rows). */
  queue: number;
  /** EMA coefficient m of the key encoder: θ_k ← m·θ_k + (1 − m)·θ_q after every step. */
  momentum: number;
}

/** One training run's settings. */
export interface RunConfig {
  loss: LossName;
  batch: number;
  steps: number;
  seed: number;
  temperature: number;
  learningRate: number;
  hidden: number;
  out: number;
  /** Input resolution: 1 keeps 28×28, 2 average-pools the (augmented) digits to 14×14. */
  pool: 1 | 2;
  /** Random resized crop: smallest kept area fraction (see {@link AUGMENT}). */
  minArea: number;
  /** Read the running loss back every this many steps (for the chart). */
  logEvery: number;
  /**
   * MoCo instead of SimCLR: queries z1 from the trained encoder, keys z2 from its momentum copy,
   * the loss's candidates are the queue (`bank`), and each step's keys are enqueued after its loss.
   */
  moco?: MocoConfig;
}

/** A logged point: mean loss over the steps since the previous point. */
export interface LossPoint {
  step: number;
  loss: number;
}

/**
 * Train a fresh encoder with the fused op. Weights, sample order and augmentations come from
 * `seed`, so two runs with the same seed and batch see the same data. The training steps
 * themselves never read from the GPU: the step costs stay on the GPU and are read back as one
 * mean every `logEvery` steps for the chart (the only GPU→CPU traffic of the loop).
 */
export async function train(digits: Digits, pool: Int32Array, c: RunConfig, onLog: (p: LossPoint) => void): Promise<{ encoder: Encoder; curve: LossPoint[]; msPerStep: number }> {
  const width = inputWidth(c.pool);
  const encoder = makeEncoder(width, c.hidden, c.out, c.seed);
  // MoCo: the key encoder starts as an exact copy (same seed) and never gets gradients.
  const keyEncoder = c.moco ? makeEncoder(width, c.hidden, c.out, c.seed, false) : undefined;
  const queue = c.moco ? NegativeQueue.create({ device: contrastiveLossDispatcher().device, k: c.moco.queue, d: c.out, seed: c.seed }) : undefined;
  const optimizer = tf.train.adam(c.learningRate);
  const rand = mulberry32(c.seed * 7919 + 1);
  let order = permutation(pool.length, rand);
  let cursor = 0;
  const views = new Float32Array(2 * c.batch * width);
  const scratch = new Float32Array(PIXELS);
  const aug: AugmentOptions = { ...AUGMENT, minArea: c.minArea };
  const curve: LossPoint[] = [];
  let pending: tf.Scalar[] = [];
  const flush = async (step: number) => {
    if (pending.length === 0) return;
    const mean = tf.tidy(() => tf.mean(tf.stack(pending)));
    const value = (await mean.data())[0]!;
    tf.dispose([mean, ...pending]);
    pending = [];
    const p = { step, loss: value };
    curve.push(p);
    onLog(p);
  };
  let t0 = performance.now();
  for (let step = 1; step <= c.steps; step++) {
    // The first step compiles pipelines: time the steady state from step 2 on.
    if (step === 2) t0 = performance.now();
    for (let i = 0; i < c.batch; i++) {
      if (cursor === order.length) {
        order = permutation(pool.length, rand);
        cursor = 0;
      }
      const idx = pool[order[cursor++]!]!;
      for (const row of [i, c.batch + i]) {
        augment(digits.images, idx * PIXELS, scratch, 0, rand, aug);
        poolImage(scratch, 0, 1, c.pool, views, row * width);
      }
    }
    const x = tf.tensor2d(views, [2 * c.batch, width]);
    const cost = optimizer.minimize(
      () =>
        tf.tidy(() => {
          if (keyEncoder && queue) {
            const [x1, x2] = tf.split(x, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
            const q = project(encoder, represent(encoder, x1));
            const k = project(keyEncoder, represent(keyEncoder, x2));
            const loss = contrastiveLoss(q, k, { loss: c.loss, temperature: c.temperature, bank: queue.bank });
            enqueueKeys(queue, k); // after the loss: it saw the queue as it was before this step's keys
            return loss;
          }
          const z = project(encoder, represent(encoder, x));
          const [z1, z2] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
          return contrastiveLoss(z1, z2, { loss: c.loss, temperature: c.temperature });
        }),
      true,
    )!;
    x.dispose();
    if (keyEncoder && c.moco) momentumUpdate(keyEncoder, encoder, c.moco.momentum);
    pending.push(cost);
    if (step % c.logEvery === 0 || step === c.steps) await flush(step);
  }
  const msPerStep = (performance.now() - t0) / Math.max(1, c.steps - 1);
  optimizer.dispose();
  if (keyEncoder) disposeEncoder(keyEncoder);
  // Destroying after the last submit is safe: WebGPU keeps the buffer for work already submitted.
  queue?.destroy();
  return { encoder, curve, msPerStep };
}

/** MoCo's key-encoder update on the GPU: θ_k ← m·θ_k + (1 − m)·θ_q for every weight. */
function momentumUpdate(key: Encoder, query: Encoder, m: number): void {
  tf.tidy(() => {
    for (const name of ['w1', 'b1', 'w2', 'b2'] as const) key[name].assign(tf.add(tf.mul(key[name], m), tf.mul(query[name], 1 - m)));
  });
}

/** Images `idx` as rows of floats in [0, 1], pooled by `pool`. */
function imagesOf(digits: Digits, idx: Int32Array, pool: 1 | 2): Float32Array {
  const width = inputWidth(pool);
  const x = new Float32Array(idx.length * width);
  for (let i = 0; i < idx.length; i++) poolImage(digits.images, idx[i]! * PIXELS, 1 / 255, pool, x, i * width);
  return x;
}

/**
 * Copies of digits `idx`, each translated by a random whole-pixel shift of up to `maxShift` in x
 * and y (zeros shifted in), seeded: the shifted-test probe's inputs, indexed 0..idx.length−1.
 */
export function shiftedDigits(digits: Digits, idx: Int32Array, maxShift: number, seed: number): Digits {
  const rand = mulberry32(seed ^ 0x5a1f7);
  const images = new Uint8Array(idx.length * PIXELS);
  const labels = Uint8Array.from(idx, (i) => digits.labels[i]!);
  for (let n = 0; n < idx.length; n++) {
    const dx = Math.floor(rand() * (2 * maxShift + 1)) - maxShift;
    const dy = Math.floor(rand() * (2 * maxShift + 1)) - maxShift;
    for (let y = 0; y < SIDE; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= SIDE) continue;
      for (let x = 0; x < SIDE; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < SIDE) images[n * PIXELS + y * SIDE + x] = digits.images[idx[n]! * PIXELS + sy * SIDE + sx]!;
      }
    }
  }
  return { images, labels, count: idx.length };
}

/** Features of a set of digits: rows of `dim` floats. */
export interface FeatureSet {
  values: Float32Array;
  dim: number;
}

/**
 * Features of digits `idx`: raw (pooled) pixels, or the encoder's representation h and projection z
 * (computed on the GPU in chunks of 500 rows, then read back: evaluation, not training).
 */
export async function features(digits: Digits, idx: Int32Array, pool: 1 | 2, encoder?: Encoder): Promise<{ pixels: FeatureSet; h?: FeatureSet; z?: FeatureSet }> {
  const width = inputWidth(pool);
  const pixels = { values: imagesOf(digits, idx, pool), dim: width };
  if (!encoder) return { pixels };
  const hidden = encoder.w1.shape[1]!;
  const out = encoder.w2.shape[1]!;
  const h = new Float32Array(idx.length * hidden);
  const z = new Float32Array(idx.length * out);
  for (let start = 0; start < idx.length; start += 500) {
    const rows = Math.min(500, idx.length - start);
    const [ht, zt] = tf.tidy(() => {
      const x = tf.tensor2d(pixels.values.subarray(start * width, (start + rows) * width), [rows, width]);
      const hh = represent(encoder, x);
      return [hh, project(encoder, hh)];
    });
    const [hv, zv] = await Promise.all([ht!.data(), zt!.data()]);
    tf.dispose([ht!, zt!]);
    h.set(hv as Float32Array, start * hidden);
    z.set(zv as Float32Array, start * out);
  }
  return { pixels, h: { values: h, dim: hidden }, z: { values: z, dim: out } };
}

function normalized(f: FeatureSet): Float32Array {
  const v = f.values.slice();
  for (let r = 0; r < v.length / f.dim; r++) {
    let s = 0;
    for (let k = 0; k < f.dim; k++) s += v[r * f.dim + k]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < f.dim; k++) v[r * f.dim + k]! *= inv;
  }
  return v;
}

/**
 * Cosine kNN accuracy (on the CPU): each test digit takes the majority label of its k most
 * similar bank digits, ties broken by summed similarity.
 */
export function knnAccuracy(bank: FeatureSet, bankLabels: Uint8Array, test: FeatureSet, testLabels: Uint8Array, k: number): number {
  const b = normalized(bank);
  const t = normalized(test);
  const dim = bank.dim;
  const nb = bankLabels.length;
  const topSim = new Float64Array(k);
  const topIdx = new Int32Array(k);
  let correct = 0;
  for (let i = 0; i < testLabels.length; i++) {
    topSim.fill(-Infinity);
    topIdx.fill(-1);
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += t[i * dim + c]! * b[j * dim + c]!;
      if (s <= topSim[k - 1]!) continue;
      let p = k - 1;
      while (p > 0 && topSim[p - 1]! < s) {
        topSim[p] = topSim[p - 1]!;
        topIdx[p] = topIdx[p - 1]!;
        p--;
      }
      topSim[p] = s;
      topIdx[p] = j;
    }
    const votes = new Float64Array(10);
    const weight = new Float64Array(10);
    for (let j = 0; j < k; j++) {
      const label = bankLabels[topIdx[j]!]!;
      votes[label]! += 1;
      weight[label]! += topSim[j]!;
    }
    let best = 0;
    for (let c = 1; c < 10; c++) {
      if (votes[c]! > votes[best]! || (votes[c] === votes[best] && weight[c]! > weight[best]!)) best = c;
    }
    if (best === testLabels[i]) correct++;
  }
  return correct / testLabels.length;
}
