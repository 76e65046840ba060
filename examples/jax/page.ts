/**
 * The jax-js example page: a small MLP encoder trained with jax-js and the fused DCL loss
 * (`webgpu-contrastive/jax`) on a toy dataset — 10 classes in 4 of 32 rotated dimensions, the
 * rest nuisance that each view redraws — with a live loss curve on a canvas and a cosine 1-NN
 * accuracy on held-out points: raw inputs, untrained encoder, trained encoder.
 *
 * `run.ts` drives it headless (`npm run demo:jax`); opened by hand (`-- --serve`) it has a Start
 * button. The recipe is in `trainStep`: `contrastiveValueAndGrad(encode, { loss: 'dcl' })`.
 */
import { defaultDevice, init, numpy as np, tree, type Array as JaxArray } from '@jax-js/jax';
import { exposeToNode } from '../../src/chromium/page-rpc.js';
import { contrastiveValueAndGrad } from '../../src/jax/index.js';
import { gaussian, mulberry32 } from '../../src/random.js';

/** Settings of one run. */
export interface JaxDemoConfig {
  steps: number;
  batch: number;
  temperature: number;
  learningRate: number;
  seed: number;
  /** Read the loss back (for the curve) every this many steps. */
  logEvery: number;
}

/** Defaults (run.ts may override any). */
export const DEFAULT_CONFIG: JaxDemoConfig = { steps: 300, batch: 128, temperature: 0.2, learningRate: 0.5, seed: 1, logEvery: 5 };

/** What a run measured. */
export interface JaxDemoResults {
  config: JaxDemoConfig;
  adapter: string;
  losses: { step: number; loss: number }[];
  /** Cosine 1-NN accuracy of held-out points (labels = their class) on the raw 32-D inputs. */
  accuracyRaw: number;
  /** The same on the embeddings z of the untrained encoder. */
  accuracyBefore: number;
  accuracyAfter: number;
  msPerStep: number;
}

const DIM = 32;
const HIDDEN = 64;
const OUT = 16;
const CLUSTERS = 10;
/** Dimensions that carry the class; the other DIM − LATENT are nuisance. */
const LATENT = 4;
const CENTRE_SCALE = 1.5;
/** Spread of a point's content around its centre, extra content noise per view, and the nuisance σ. */
const CONTENT_NOISE = 0.3;
const VIEW_NOISE = 0.1;
const NUISANCE = 1.5;

type Params = { W1: JaxArray; b1: JaxArray; W2: JaxArray };

function encoder(p: Params, x: JaxArray): JaxArray {
  return np.matmul(np.tanh(np.matmul(x, p.W1).add(p.b1)), p.W2);
}

/**
 * The toy dataset. Each point has a 4-D content vector (one of 10 random class centres plus
 * noise) and 28 nuisance dimensions of larger variance, and the 32 coordinates are mixed by a
 * random rotation, so the class is not what dominates the raw inputs' cosine similarity. The two
 * views of a point keep its content (with a little noise) and draw fresh nuisance: what
 * contrastive learning can find, and a raw-input classifier cannot see directly.
 */
function dataset(seed: number) {
  const u = mulberry32(seed);
  const g = () => gaussian(u);
  const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: LATENT }, () => CENTRE_SCALE * g()));
  const rotation = randomRotation(DIM, g);
  const content = (c: number) => Float32Array.from(centres[c]!, (v) => v + CONTENT_NOISE * g());
  /** One observation of a content vector: the content (plus view noise) and fresh nuisance, rotated. */
  const observe = (content: Float32Array, viewNoise: number, out: Float32Array, at: number) => {
    const latent = Float64Array.from({ length: DIM }, (_, k) => (k < LATENT ? content[k]! + viewNoise * g() : NUISANCE * g()));
    for (let r = 0; r < DIM; r++) {
      let v = 0;
      for (let c = 0; c < DIM; c++) v += rotation[r * DIM + c]! * latent[c]!;
      out[at + r] = v;
    }
  };
  const labeled = (count: number) => {
    const x = new Float32Array(count * DIM);
    const y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      y[i] = Math.floor(u() * CLUSTERS);
      observe(content(y[i]!), 0, x, i * DIM);
    }
    return { x, y };
  };
  const pairs = (n: number) => {
    const x1 = new Float32Array(n * DIM);
    const x2 = new Float32Array(n * DIM);
    for (let i = 0; i < n; i++) {
      const c = content(Math.floor(u() * CLUSTERS));
      observe(c, VIEW_NOISE, x1, i * DIM);
      observe(c, VIEW_NOISE, x2, i * DIM);
    }
    return [np.array(x1).reshape([n, DIM]), np.array(x2).reshape([n, DIM])] as const;
  };
  const init = (): Params => ({
    W1: np.array(Float32Array.from({ length: DIM * HIDDEN }, () => g() / Math.sqrt(DIM))).reshape([DIM, HIDDEN]),
    b1: np.zeros([HIDDEN]),
    W2: np.array(Float32Array.from({ length: HIDDEN * OUT }, () => g() / Math.sqrt(HIDDEN))).reshape([HIDDEN, OUT]),
  });
  return { labeled, pairs, init };
}

/** A random `n`×`n` rotation (Gram–Schmidt on Gaussian rows), row-major. */
function randomRotation(n: number, g: () => number): Float64Array {
  const q = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const row = Float64Array.from({ length: n }, g);
    for (let p = 0; p < r; p++) {
      let dot = 0;
      for (let c = 0; c < n; c++) dot += row[c]! * q[p * n + c]!;
      for (let c = 0; c < n; c++) row[c]! -= dot * q[p * n + c]!;
    }
    const norm = Math.hypot(...row);
    for (let c = 0; c < n; c++) q[r * n + c] = row[c]! / norm;
  }
  return q;
}

/** Cosine 1-NN accuracy of `test` against the labeled `bank`, on rows of `dim` floats. */
function oneNnOf(bank: Float32Array, bankLabels: Int32Array, test: Float32Array, testLabels: Int32Array, dim: number): number {
  const unit = (e: Float32Array, i: number) => {
    const row = e.subarray(i * dim, (i + 1) * dim);
    const norm = Math.hypot(...row) || 1;
    return Float32Array.from(row, (v) => v / norm);
  };
  const bankRows = Array.from(bankLabels, (_, i) => unit(bank, i));
  let correct = 0;
  testLabels.forEach((label, i) => {
    const q = unit(test, i);
    let best = -Infinity;
    let bestLabel = -1;
    bankRows.forEach((b, j) => {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += q[k]! * b[k]!;
      if (dot > best) [best, bestLabel] = [dot, bankLabels[j]!];
    });
    if (bestLabel === label) correct++;
  });
  return correct / testLabels.length;
}

/** Cosine 1-NN accuracy of `test` against the labeled `bank`, on the encoder's embeddings. */
async function oneNnAccuracy(params: Params, bank: { x: Float32Array; y: Int32Array }, test: { x: Float32Array; y: Int32Array }): Promise<number> {
  const embed = async (x: Float32Array) => (await encoder(tree.ref(params), np.array(x).reshape([x.length / DIM, DIM])).data()) as Float32Array;
  return oneNnOf(await embed(bank.x), bank.y, await embed(test.x), test.y, OUT);
}

/** The loss curve: every logged point so far, on a canvas. */
function drawCurve(canvas: HTMLCanvasElement, points: { step: number; loss: number }[], steps: number): void {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  const pad = 48;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  if (points.length === 0) return;
  const lo = Math.min(...points.map((p) => p.loss));
  const hi = Math.max(...points.map((p) => p.loss));
  const x = (s: number) => pad + ((w - 2 * pad) * s) / steps;
  const y = (l: number) => h - pad - ((h - 2 * pad) * (l - lo)) / (hi - lo || 1);
  ctx.strokeStyle = '#999';
  ctx.strokeRect(pad, pad, w - 2 * pad, h - 2 * pad);
  ctx.fillStyle = '#333';
  ctx.font = '13px sans-serif';
  ctx.fillText(hi.toFixed(3), 4, pad + 4);
  ctx.fillText(lo.toFixed(3), 4, h - pad + 4);
  ctx.fillText('0', pad - 3, h - pad + 18);
  ctx.fillText(`${steps} steps`, w - pad - 50, h - pad + 18);
  ctx.fillText('DCL loss (fused kernels in a jax-js step)', pad, pad - 12);
  ctx.strokeStyle = '#1565c0';
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.step), y(p.loss)) : ctx.lineTo(x(p.step), y(p.loss))));
  ctx.stroke();
}

function ui() {
  document.body.style.font = '15px sans-serif';
  document.body.style.margin = '24px';
  document.body.innerHTML = `<h2>webgpu-contrastive × jax-js: DCL on WebGPU</h2>
    <p>A 32→64→16 MLP trained with <code>contrastiveValueAndGrad(encode, { loss: 'dcl' })</code>:
    jax-js runs the encoder and its backward pass, the fused kernels the loss and ∂L/∂z, on one GPUDevice.</p>
    <button id="start">Start</button> <span id="status"></span><br/><canvas id="curve" width="760" height="360"></canvas>`;
  return {
    canvas: document.getElementById('curve') as HTMLCanvasElement,
    status: document.getElementById('status')!,
    start: document.getElementById('start') as HTMLButtonElement,
  };
}

const view = ui();

/** Train and report; draws as it goes. */
async function runDemo(overrides: Partial<JaxDemoConfig> = {}): Promise<JaxDemoResults> {
  const config = { ...DEFAULT_CONFIG, ...overrides };
  view.start.disabled = true;
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('this browser offers no WebGPU to jax-js');
  defaultDevice('webgpu');
  const data = dataset(config.seed);
  const bank = data.labeled(500);
  const test = data.labeled(300);
  let params = data.init();
  const accuracyRaw = oneNnOf(bank.x, bank.y, test.x, test.y, DIM);
  const accuracyBefore = await oneNnAccuracy(params, bank, test);

  // The recipe: an encoder producing both views, the fused loss, jax-js gradients.
  const trainStep = contrastiveValueAndGrad(
    (p: Params, x1: JaxArray, x2: JaxArray): [JaxArray, JaxArray] => [encoder(tree.ref(p), x1), encoder(p, x2)],
    { loss: 'dcl', temperature: config.temperature },
  );
  const losses: { step: number; loss: number }[] = [];
  const t0 = performance.now();
  for (let step = 1; step <= config.steps; step++) {
    const [x1, x2] = data.pairs(config.batch);
    const [loss, grads] = await trainStep(tree.ref(params), x1, x2);
    params = tree.map((p: JaxArray, g: JaxArray) => p.sub(g.mul(config.learningRate)), params, grads) as Params;
    if (step % config.logEvery === 0 || step === 1) {
      losses.push({ step, loss: (await loss.data())[0]! });
      drawCurve(view.canvas, losses, config.steps);
      view.status.textContent = `step ${step}/${config.steps}, loss ${losses.at(-1)!.loss.toFixed(4)}, 1-NN accuracy before training ${(100 * accuracyBefore).toFixed(1)} %`;
    } else {
      loss.dispose();
    }
  }
  const msPerStep = (performance.now() - t0) / config.steps;
  const accuracyAfter = await oneNnAccuracy(params, bank, test);
  tree.dispose(params);
  view.status.textContent = `${config.steps} steps, ${msPerStep.toFixed(0)} ms/step; loss ${losses[0]!.loss.toFixed(3)} → ${losses.at(-1)!.loss.toFixed(3)}; ` +
    `1-NN accuracy on held-out points: raw inputs ${(100 * accuracyRaw).toFixed(1)} %, encoder ${(100 * accuracyBefore).toFixed(1)} % → ${(100 * accuracyAfter).toFixed(1)} %`;
  const info = (await navigator.gpu.requestAdapter())?.info;
  return { config, adapter: `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.description ?? ''}`.trim(), losses, accuracyRaw, accuracyBefore, accuracyAfter, msPerStep };
}

view.start.onclick = () => void runDemo().catch((e) => (view.status.textContent = `failed: ${(e as Error).message}`));
exposeToNode({ runDemo });
