/**
 * The MNIST demo page: trains the encoder with DCL and NT-Xent at two batch sizes on the tfjs
 * `webgpu` backend, draws the loss curves live (chart.js), then scores each encoder with a
 * cosine kNN classifier on held-out digits. `run.ts` drives it headless; opened by hand
 * (`npm run demo:mnist -- --serve`) it has a Start button.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Title } from 'chart.js';
import { exposeToNode } from '../../src/chromium/page-rpc.js';
import type { LossName } from '../../src/options.js';
import { mulberry32 } from '../../src/random.js';
import { prepareContrastiveLoss } from '../../src/tfjs/contrastive-loss-op.js';
import { LABEL, rowLabel } from './labels.js';
import { AUGMENT, augment, disposeEncoder, features, inputWidth, knnAccuracy, makeEncoder, PIXELS, SIDE, splitDigits, train, shiftedDigits, type Digits, type Encoder, type FeatureSet, type LossPoint, type MocoConfig, type RunConfig } from './train.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, BarController, BarElement, Legend, Title);

/** The comparison's settings (all recorded in the results): a run's settings but the loss and batch, which it sweeps. */
export interface DemoConfig extends Omit<RunConfig, 'loss' | 'batch' | 'moco'> {
  batches: number[];
  losses: LossName[];
  /**
   * The MoCo-style run after the sweep (null: none): NT-Xent (InfoNCE) of queries against a queue
   * of K keys from a momentum encoder, same seed, steps, τ and data order as the NT-Xent run at `batch`.
   */
  moco: (MocoConfig & { batch: number }) | null;
  /** Neighbours of the kNN classifier. */
  k: number;
  /** Held-out test digits. */
  testCount: number;
  /** Labeled digits of the kNN memory bank. */
  bankCount: number;
  /** The few-label probe: kNN against only the first this many digits of the bank (0: none). */
  fewLabels: number;
  /** The shifted-test probe: test digits moved by up to this many pixels in x and y (0: none). */
  shift: number;
}

/** Defaults of the demo (run.ts may override any). */
export const DEFAULT_CONFIG: DemoConfig = {
  steps: 300,
  seed: 1,
  batches: [32, 128],
  losses: ['dcl', 'ntxent'],
  temperature: 0.1,
  learningRate: 2e-3,
  hidden: 128,
  out: 64,
  pool: 2,
  minArea: AUGMENT.minArea,
  k: 5,
  testCount: 1000,
  bankCount: 2000,
  fewLabels: 100,
  shift: 3,
  logEvery: 10,
  moco: { batch: 32, queue: 4096, momentum: 0.99 },
};

/** One row of the results table. */
export interface DemoRow {
  loss: LossName | 'none (raw pixels)' | 'none (untrained encoder)';
  /** 'simclr': in-batch negatives, both views through the trained encoder; 'moco': queue + momentum encoder; null for baselines. */
  method: 'simclr' | 'moco' | null;
  batch: number | null;
  /** MoCo only: queue rows K and EMA coefficient m. */
  queue: number | null;
  momentum: number | null;
  steps: number;
  seed: number;
  temperature: number | null;
  finalLoss: number | null;
  /** kNN accuracy on the representation h (input→hidden, after ReLU). */
  knnAccuracy: number;
  /** kNN accuracy on the projection z (hidden→out) the loss sees; null for raw pixels. */
  knnAccuracyProjection: number | null;
  /** kNN accuracy of h (of the pixels for the raw baseline) against only `fewLabels` labeled digits; null when off. */
  knnAccuracyFewLabels: number | null;
  /** kNN accuracy of h (of the pixels for the raw baseline) on shifted test digits, full bank; null when off. */
  knnAccuracyShifted?: number | null;
  msPerStep: number | null;
  curve: LossPoint[];
}

/** What {@link runDemo} takes: any settings to override; `moco` merges into the default MoCo settings (null: no MoCo run). */
export type DemoOverrides = Partial<Omit<DemoConfig, 'moco'>> & { moco?: Partial<NonNullable<DemoConfig['moco']>> | null };

/** What {@link runDemo} returns. */
export interface DemoResults {
  config: DemoConfig;
  adapter: string;
  rows: DemoRow[];
  totalSeconds: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), attrs);
  e.append(...children);
  return e;
}

function log(message: string): void {
  console.log(`[mnist] ${message}`);
  const status = document.getElementById('status');
  if (status) status.textContent = message;
}

async function loadDigits(): Promise<Digits> {
  const [images, labels] = await Promise.all(
    ['/mnist-images.bin', '/mnist-labels.bin'].map(async (u) => {
      const r = await fetch(u);
      if (!r.ok) throw new Error(`${u}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    }),
  );
  return { images: images!, labels: labels!, count: labels!.length };
}

function layout(): void {
  document.title = 'webgpu-contrastive · MNIST: DCL vs NT-Xent';
  const style = el('style');
  style.textContent = `
    body { font: 14px system-ui, sans-serif; margin: 16px 24px; color: #222; background: #fff; }
    h1 { font-size: 20px; margin: 0 0 4px; } .sub { color: #555; margin: 0 0 12px; }
    .row { display: flex; gap: 16px; flex-wrap: wrap; } .second { margin-top: 16px; } .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
    .chart { width: 540px; height: 280px; } table { border-collapse: collapse; margin-top: 8px; }
    td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; } th { background: #f4f4f4; }
    td:first-child, th:first-child { text-align: left; } #status { color: #064; margin: 8px 0; font-family: monospace; }
    canvas.aug { image-rendering: pixelated; }`;
  document.head.append(style);
  document.body.append(
    el('h1', {}, 'Contrastive MNIST on WebGPU: DCL vs NT-Xent'),
    el('p', { className: 'sub', id: 'config' }),
    el('div', { id: 'status' }, 'idle'),
    el('div', { className: 'row' },
      el('div', { className: 'card' }, el('div', { className: 'chart' }, el('canvas', { id: 'chart-0' }))),
      el('div', { className: 'card' }, el('div', { className: 'chart' }, el('canvas', { id: 'chart-1' }))),
    ),
    el('div', { className: 'row second' },
      el('div', { className: 'card' }, el('div', { className: 'chart' }, el('canvas', { id: 'chart-knn' }))),
      el('div', { className: 'card' }, el('div', {}, 'Augmented views (original · view 1 · view 2)'), el('canvas', { id: 'aug', className: 'aug' })),
    ),
    el('div', { id: 'table' }),
  );
}

function showAugmentations(digits: Digits, split: { test: Int32Array }, config: DemoConfig): void {
  const canvas = document.getElementById('aug') as HTMLCanvasElement;
  const rows = 4;
  const cols = 3;
  const samples = 3;
  const scale = 3;
  canvas.width = samples * cols * (SIDE + 2) * scale;
  canvas.height = rows * (SIDE + 2) * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#888';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const rand = mulberry32(config.seed + 99);
  const view = new Float32Array(PIXELS);
  const img = ctx.createImageData(SIDE, SIDE);
  const small = document.createElement('canvas');
  small.width = small.height = SIDE;
  const sctx = small.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < samples; s++) {
      const idx = split.test[r * samples + s]!;
      for (let c = 0; c < cols; c++) {
        if (c === 0) for (let k = 0; k < PIXELS; k++) view[k] = digits.images[idx * PIXELS + k]! / 255;
        else augment(digits.images, idx * PIXELS, view, 0, rand, { ...AUGMENT, minArea: config.minArea });
        for (let k = 0; k < PIXELS; k++) {
          const v = Math.round(255 * (1 - view[k]!));
          img.data.set([v, v, v, 255], 4 * k);
        }
        sctx.putImageData(img, 0, 0);
        ctx.drawImage(small, ((s * cols + c) * (SIDE + 2) + 1) * scale, (r * (SIDE + 2) + 1) * scale, SIDE * scale, SIDE * scale);
      }
    }
  }
}

function lossChart(id: string, loss: LossName, batches: number[]): Chart<'line', { x: number; y: number }[]> {
  return new Chart(document.getElementById(id) as HTMLCanvasElement, {
    type: 'line',
    data: { datasets: batches.map((b, i) => ({ label: `batch ${b}`, data: [], borderColor: COLORS[i], backgroundColor: COLORS[i], pointRadius: 0, borderWidth: 2 })) },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { title: { display: true, text: 'training loss' } } },
      plugins: { title: { display: true, text: `${LABEL[loss]} loss (mean over ${DEFAULT_CONFIG.logEvery} steps)` } },
    },
  });
}

function knnChart(rows: DemoRow[]): void {
  const labelOf = (r: DemoRow) => (r.batch === null ? r.loss : `${rowLabel(r)} B=${r.batch}`);
  new Chart(document.getElementById('chart-knn') as HTMLCanvasElement, {
    type: 'bar',
    data: {
      labels: rows.map(labelOf),
      datasets: [{ label: 'kNN accuracy (representation)', data: rows.map((r) => 100 * r.knnAccuracy), backgroundColor: rows.map((r) => (r.batch === null ? '#aaa' : r.method === 'moco' ? COLORS[4]! : r.loss === 'dcl' ? COLORS[2]! : COLORS[3]!)) }],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { min: 80, max: 100, title: { display: true, text: `${DEFAULT_CONFIG.k}-NN accuracy (%)` } } },
      plugins: { legend: { display: false }, title: { display: true, text: 'Held-out kNN accuracy (cosine)' } },
    },
  });
}

function showTable(rows: DemoRow[]): void {
  const fmt = (v: number | null, digits = 4) => (v === null ? '—' : v.toFixed(digits));
  const head = ['loss', 'batch', 'steps', 'seed', 'τ', 'final loss', 'kNN acc (h)', 'kNN acc (z)', 'kNN acc (h, few labels)', 'kNN acc (h, shifted test)', 'ms/step'];
  const table = el('table', {}, el('tr', {}, ...head.map((h) => el('th', {}, h))));
  const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)}%`);
  for (const r of rows) {
    const cells = [rowLabel(r), r.batch ?? '—', r.steps, r.seed, r.temperature ?? '—', fmt(r.finalLoss), pct(r.knnAccuracy), pct(r.knnAccuracyProjection), pct(r.knnAccuracyFewLabels ?? null), pct(r.knnAccuracyShifted ?? null), fmt(r.msPerStep, 0)];
    table.append(el('tr', {}, ...cells.map((c) => el('td', {}, String(c)))));
  }
  document.getElementById('table')!.replaceChildren(table);
}

let running = false;

/** Run the whole comparison: every loss × batch for the same steps, then kNN on held-out digits. */
export async function runDemo(overrides: DemoOverrides = {}): Promise<DemoResults> {
  if (running) throw new Error('a demo run is already in progress');
  running = true;
  try {
    const config: DemoConfig = { ...DEFAULT_CONFIG, ...overrides, moco: overrides.moco === null ? null : { ...DEFAULT_CONFIG.moco!, ...overrides.moco } };
    const t0 = performance.now();
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed: this browser has no usable WebGPU adapter");
    await tf.ready();
    await prepareContrastiveLoss();
    log('tfjs webgpu backend ready, fused kernels compiled');
    const backendDevice = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
    const adapter = `${backendDevice?.vendor ?? '?'} ${backendDevice?.architecture ?? ''}`.trim();
    log('loading MNIST digits');
    const digits = await loadDigits();
    const split = splitDigits(digits.count, config.testCount, config.bankCount, config.seed);
    document.getElementById('config')!.textContent =
      `${digits.count} digits from the npm 'mnist' package: ${split.train.length} unlabeled for training, ` +
      `${split.bank.length} of those labeled as the kNN bank, ${split.test.length} held out. MLP ${inputWidth(config.pool)}→${config.hidden}→${config.out} (${28 / config.pool}×${28 / config.pool} input), ` +
      `Adam lr ${config.learningRate}, τ = ${config.temperature}, ${config.steps} steps per run, seed ${config.seed}, k = ${config.k}` +
      (config.fewLabels > 0 ? `; few-label probe: the first ${Math.min(config.fewLabels, split.bank.length)} bank digits` : '') +
      (config.shift > 0 ? `; shifted-test probe: test digits moved up to ${config.shift} px. ` : '. ') +
      (config.moco ? `MoCo run: NT-Xent against a queue of ${config.moco.queue} keys from a momentum encoder (m = ${config.moco.momentum}), batch ${config.moco.batch}. ` : '') +
      `Adapter: ${adapter}.`;
    showAugmentations(digits, split, config);
    const charts = new Map(config.losses.map((l, i) => [l, lossChart(`chart-${i}`, l, config.batches)]));
    const rows: DemoRow[] = [];
    const baseline = (loss: DemoRow['loss'], acc: number, accZ: number | null, accFew: number | null, accShifted: number | null): DemoRow => ({
      loss, method: null, batch: null, queue: null, momentum: null, steps: 0, seed: config.seed, temperature: null, finalLoss: null, knnAccuracy: acc, knnAccuracyProjection: accZ, knnAccuracyFewLabels: accFew, knnAccuracyShifted: accShifted, msPerStep: null, curve: [],
    });
    const labelsOf = (idx: Int32Array) => Uint8Array.from(idx, (i) => digits.labels[i]!);
    const bankLabels = labelsOf(split.bank);
    const testLabels = labelsOf(split.test);
    const few = Math.min(config.fewLabels, split.bank.length);
    /** The first `few` rows of a bank's features (the few-label probe's labeled set). */
    const head = (f: FeatureSet): FeatureSet => ({ values: f.values.subarray(0, few * f.dim), dim: f.dim });
    /** kNN accuracy of raw pixels, or of an encoder's h and z; then of h (pixels) with `few` labels. */
    const shifted = config.shift > 0 ? shiftedDigits(digits, split.test, config.shift, config.seed) : undefined;
    const evaluate = async (encoder?: Encoder): Promise<[number, number | null, number | null, number | null]> => {
      const bank = await features(digits, split.bank, config.pool, encoder);
      const test = await features(digits, split.test, config.pool, encoder);
      const [b, t] = encoder ? [bank.h!, test.h!] : [bank.pixels, test.pixels];
      const accFew = few > 0 ? knnAccuracy(head(b), bankLabels.subarray(0, few), t, testLabels, Math.min(config.k, few)) : null;
      let accShifted: number | null = null;
      if (shifted) {
        const s = await features(shifted, Int32Array.from({ length: shifted.count }, (_, i) => i), config.pool, encoder);
        accShifted = knnAccuracy(b, bankLabels, encoder ? s.h! : s.pixels, testLabels, config.k);
      }
      if (!encoder) return [knnAccuracy(b, bankLabels, t, testLabels, config.k), null, accFew, accShifted];
      return [knnAccuracy(b, bankLabels, t, testLabels, config.k), knnAccuracy(bank.z!, bankLabels, test.z!, testLabels, config.k), accFew, accShifted];
    };
    /** One run's settings from the demo's: every run shares seed, steps, τ, optimizer and model. */
    const runConfig = (loss: LossName, batch: number): RunConfig => ({
      loss, batch, steps: config.steps, seed: config.seed, temperature: config.temperature, learningRate: config.learningRate, hidden: config.hidden, out: config.out, pool: config.pool, minArea: config.minArea, logEvery: config.logEvery,
    });
    log('kNN baselines: raw pixels, untrained encoder');
    rows.push(baseline('none (raw pixels)', ...(await evaluate())));
    {
      const untrained = makeEncoder(inputWidth(config.pool), config.hidden, config.out, config.seed);
      rows.push(baseline('none (untrained encoder)', ...(await evaluate(untrained))));
      disposeEncoder(untrained);
    }
    showTable(rows);
    for (const [bi, batch] of config.batches.entries()) {
      for (const loss of config.losses) {
        const chart = charts.get(loss)!;
        const series = chart.data.datasets[bi]!.data;
        const tRun = performance.now();
        const { encoder, curve, msPerStep } = await train(
          digits,
          split.train,
          runConfig(loss, batch),
          (p) => {
            series.push({ x: p.step, y: p.loss });
            chart.update('none');
            if (p.step % (config.logEvery * 5) === 0 || p.step === config.steps) {
              log(`${LABEL[loss]} batch ${batch}: step ${p.step}/${config.steps}, loss ${p.loss.toFixed(4)} (${((performance.now() - tRun) / 1000).toFixed(0)} s)`);
            }
          },
        );
        log(`${LABEL[loss]} batch ${batch}: kNN evaluation`);
        const [acc, accZ, accFew, accShifted] = (await evaluate(encoder)) as [number, number, number | null, number | null];
        disposeEncoder(encoder);
        rows.push({ loss, method: 'simclr', batch, queue: null, momentum: null, steps: config.steps, seed: config.seed, temperature: config.temperature, finalLoss: curve.at(-1)?.loss ?? null, knnAccuracy: acc, knnAccuracyProjection: accZ, knnAccuracyFewLabels: accFew, knnAccuracyShifted: accShifted, msPerStep, curve });
        log(`${LABEL[loss]} batch ${batch}: final loss ${curve.at(-1)?.loss.toFixed(4)}, kNN accuracy ${(100 * acc).toFixed(2)}% (h), ${(100 * accZ).toFixed(2)}% (z), ${msPerStep.toFixed(0)} ms/step`);
        showTable(rows);
      }
    }
    if (config.moco) {
      const { batch, queue, momentum } = config.moco;
      const name = `MoCo (NT-Xent, K=${queue}, m=${momentum}) batch ${batch}`;
      const tRun = performance.now();
      const { encoder, curve, msPerStep } = await train(
        digits,
        split.train,
        { ...runConfig('ntxent', batch), moco: { queue, momentum } },
        (p) => {
          if (p.step % (config.logEvery * 5) === 0 || p.step === config.steps) {
            log(`${name}: step ${p.step}/${config.steps}, loss ${p.loss.toFixed(4)} (${((performance.now() - tRun) / 1000).toFixed(0)} s)`);
          }
        },
      );
      log(`${name}: kNN evaluation`);
      const [acc, accZ, accFew, accShifted] = (await evaluate(encoder)) as [number, number, number | null, number | null];
      disposeEncoder(encoder);
      rows.push({ loss: 'ntxent', method: 'moco', batch, queue, momentum, steps: config.steps, seed: config.seed, temperature: config.temperature, finalLoss: curve.at(-1)?.loss ?? null, knnAccuracy: acc, knnAccuracyProjection: accZ, knnAccuracyFewLabels: accFew, knnAccuracyShifted: accShifted, msPerStep, curve });
      log(`${name}: final loss ${curve.at(-1)?.loss.toFixed(4)}, kNN accuracy ${(100 * acc).toFixed(2)}% (h), ${(100 * accZ).toFixed(2)}% (z), ${msPerStep.toFixed(0)} ms/step`);
      showTable(rows);
    }
    knnChart(rows);
    const totalSeconds = (performance.now() - t0) / 1000;
    log(`done in ${totalSeconds.toFixed(0)} s`);
    return { config, adapter, rows, totalSeconds };
  } finally {
    running = false;
  }
}

layout();
const params = new URLSearchParams(location.search);
if (params.get('interactive') === '1') {
  const button = el('button', { textContent: 'Start' });
  button.onclick = () => {
    button.disabled = true;
    const steps = Number(params.get('steps') ?? DEFAULT_CONFIG.steps);
    void runDemo({ steps }).catch((e) => log(`error: ${(e as Error).message}`));
  };
  document.getElementById('status')!.before(button);
}
exposeToNode({ runDemo });
