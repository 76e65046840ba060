/**
 * `npm run bench:jax`: the fused loss inside a jax-js step against the same loss written with
 * jax-js ops under `jit`, forward+backward with respect to both views, in one runtime on one
 * device (jax-js's): reference check first, then medians after warm-up over N ∈ {256, 1024,
 * 2048} at D = 128, then the largest batch each path completes within a time budget. Prints the
 * tables and writes bench/results/jax-<adapter>-<runtime>.json.
 *
 *   npm run bench:jax -- [--runtime chromium|node] [--loss dcl] [--budget-s 60] [--quick]
 *
 * `--runtime node` runs on Dawn (npm `webgpu`); the process must start with
 * LD_LIBRARY_PATH / VK_ICD_FILENAMES set for SwiftShader (bench/jax.mjs does it).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { relativeL2 } from '../src/cli/demo.js';
import { referenceLoss } from '../src/reference/index.js';
import { LOSS_NAMES, type LossName } from '../src/options.js';
import { callInPage } from '../src/chromium/page-call.js';
import { openEntryPage, serveEntryInChrome } from '../src/chromium/served-entry.js';
import { adapterSlug, writeResults } from './report.js';
import { summarize } from './stats.js';
import type { JaxBenchAdapter, JaxBenchPath, JaxCaseTiming } from './jax-cases.js';
import type { JaxBenchApi } from './jax-entry.js';

const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[bench:jax ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);

interface Config {
  runtime: 'chromium' | 'node';
  loss: LossName;
  d: number;
  ns: number[];
  warmup: number;
  repeats: number;
  budgetS: number;
  quick: boolean;
}

function parse(argv: string[]): Config {
  const cfg: Config = { runtime: 'chromium', loss: 'dcl', d: 128, ns: [256, 1024, 2048], warmup: 1, repeats: 3, budgetS: 60, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runtime') {
      const v = value();
      if (v !== 'chromium' && v !== 'node') throw new Error(`--runtime is chromium or node, got ${v}`);
      cfg.runtime = v;
    } else if (a === '--loss') {
      const v = value() as LossName;
      if (!LOSS_NAMES.includes(v)) throw new Error(`--loss is one of ${LOSS_NAMES.join(', ')}, got ${v}`);
      cfg.loss = v;
    } else if (a === '--budget-s') {
      cfg.budgetS = Number(value());
      if (!(cfg.budgetS > 0)) throw new Error('--budget-s must be a number > 0');
    } else if (a === '--quick') {
      Object.assign(cfg, { quick: true, ns: [256], repeats: 2, budgetS: 5 });
    } else throw new Error(`unknown argument ${a}`);
  }
  return cfg;
}

type Call = <K extends keyof JaxBenchApi>(name: K, ...args: Parameters<JaxBenchApi[K]>) => Promise<Awaited<ReturnType<JaxBenchApi[K]>>>;

async function openRuntime(cfg: Config): Promise<{ call: Call; close(): Promise<void> }> {
  if (cfg.runtime === 'node') {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]), userAgent: 'node' }, configurable: true, writable: true });
    const cases = await import('./jax-cases.js');
    const fns: JaxBenchApi = { jaxBenchReady: cases.jaxBenchReady, timeJaxCase: cases.timeJaxCase };
    return { call: async (name, ...args) => (fns[name] as (...a: unknown[]) => unknown)(...args) as never, close: async () => {} };
  }
  const served = await serveEntryInChrome('bench/jax-entry.ts', { title: 'webgpu-contrastive jax bench' });
  const page = await openEntryPage(served.browser, served.url, { what: 'the jax bench page', timeoutMs: 120_000, onError: (m) => log(`page error: ${m}`) });
  page.setDefaultTimeout(0);
  return { call: (name, ...args) => callInPage<JaxBenchApi, typeof name>(page, name, ...args) as never, close: served.close };
}

/** One timed row of the results file. */
interface Row {
  path: JaxBenchPath;
  loss: LossName;
  n: number;
  d: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
  /** GFLOP/s counting 6·(2N)²·D for a forward+backward (as bench/). */
  gflops: number;
  /** Bytes of GPU buffers newly created on jax-js's device during the first run. */
  new_gpu_bytes: number;
}

function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ')).join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const cfg = parse(argv);
  const jaxVersion = (JSON.parse(readFileSync('node_modules/@jax-js/jax/package.json', 'utf8')) as { version: string }).version;
  log(`runtime ${cfg.runtime}; loss ${cfg.loss}; N ${cfg.ns.join(',')} at D ${cfg.d}; warmup ${cfg.warmup}, repeats ${cfg.repeats}; probe budget ${cfg.budgetS} s; @jax-js/jax ${jaxVersion}`);
  // The machine's load at start and end: on a shared CPU, SwiftShader timings move with it.
  const loadAtStart = loadavg();
  const rt = await openRuntime(cfg);
  try {
    const adapter: JaxBenchAdapter = await rt.call('jaxBenchReady', cfg.runtime);
    log(`adapter: ${adapter.vendor} / ${adapter.architecture} / ${adapter.description} (${adapter.runtime})`);
    const options = { loss: cfg.loss };
    const paths: JaxBenchPath[] = ['fused', 'jax-ops'];

    const checks: { path: JaxBenchPath; n: number; d: number; loss_rel_err: number; grad_rel_l2: number; ok: boolean }[] = [];
    for (const path of paths) {
      const n = 64;
      const r = await rt.call('timeJaxCase', path, options, n, cfg.d, 0, 1, true);
      const ref = referenceLoss(r.z1!, r.z2!, n, cfg.d, options);
      const lossErr = Math.abs(r.loss! - ref.loss) / Math.abs(ref.loss);
      const gradErr = Math.max(relativeL2(r.gradZ1!, ref.gradZ1), relativeL2(r.gradZ2!, ref.gradZ2));
      checks.push({ path, n, d: cfg.d, loss_rel_err: lossErr, grad_rel_l2: gradErr, ok: lossErr <= 1e-5 && gradErr <= 1e-4 });
      log(`check ${path} N=${n}: loss rel ${lossErr.toExponential(2)}, grad rel L2 ${gradErr.toExponential(2)}`);
    }

    const rows: Row[] = [];
    const record = (path: JaxBenchPath, n: number, t: JaxCaseTiming): Row => {
      const s = summarize(t.wallMs);
      const row: Row = { path, loss: cfg.loss, n, d: cfg.d, median_ms: s.median, min_ms: s.min, max_ms: s.max, runs: t.wallMs.length, gflops: (6 * (2 * n) ** 2 * cfg.d) / (s.median * 1e6), new_gpu_bytes: t.newBytes };
      log(`${path} N=${n}: median ${s.median.toFixed(1)} ms over ${row.runs} runs, ${(t.newBytes / 2 ** 20).toFixed(1)} MiB new GPU buffers`);
      return row;
    };
    for (const n of cfg.ns) {
      for (const path of paths) rows.push(record(path, n, await rt.call('timeJaxCase', path, options, n, cfg.d, cfg.warmup, cfg.repeats)));
    }

    // Largest batch: double N from the largest timed one while the predicted run (4× the last,
    // the cost being quadratic in N) fits the budget; one run each; an error stops the path.
    const maxBatch: { path: JaxBenchPath; loss: LossName; d: number; max_n: number; max_n_seconds: number; stopped_by: string }[] = [];
    for (const path of paths) {
      let last = rows.filter((r) => r.path === path).at(-1)!;
      let best = { n: last.n, s: last.median_ms / 1000 };
      let stoppedBy = '';
      for (;;) {
        const n = best.n * 2;
        const predicted = 4 * best.s;
        if (predicted > cfg.budgetS) {
          stoppedBy = `time budget ${cfg.budgetS} s: N=${n} predicted at ≈ ${predicted.toFixed(0)} s`;
          break;
        }
        try {
          last = record(path, n, await rt.call('timeJaxCase', path, options, n, cfg.d, 0, 1));
          rows.push(last);
          best = { n, s: last.median_ms / 1000 };
          if (best.s > cfg.budgetS) {
            stoppedBy = `time budget ${cfg.budgetS} s: N=${n} took ${best.s.toFixed(0)} s`;
            break;
          }
        } catch (e) {
          stoppedBy = `error at N=${n}: ${(e as Error).message.split('\n')[0]}`;
          break;
        }
      }
      maxBatch.push({ path, loss: cfg.loss, d: cfg.d, max_n: best.n, max_n_seconds: best.s, stopped_by: stoppedBy });
      log(`max batch ${path}: N=${best.n} (${best.s.toFixed(1)} s); stopped by ${stoppedBy}`);
    }

    const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
    console.log(`\nAdapter: ${adapter.vendor} ${adapter.architecture} ${adapter.description} — runtime ${cfg.runtime}, @jax-js/jax ${jaxVersion}\n`);
    console.log(table(['path', 'loss', 'N', 'D', 'median ms', 'min', 'max', 'runs', 'GFLOP/s', 'new GPU MiB', 'jax-ops/fused'], rows.map((r) => {
      const ops = rows.find((o) => o.path === 'jax-ops' && o.n === r.n);
      return [r.path, r.loss, String(r.n), String(r.d), ms(r.median_ms), ms(r.min_ms), ms(r.max_ms), String(r.runs), r.gflops.toFixed(2), (r.new_gpu_bytes / 2 ** 20).toFixed(1), r.path === 'fused' && ops ? `${(ops.median_ms / r.median_ms).toFixed(1)}x` : ''];
    })));
    console.log('\n' + table(['path', 'loss', 'D', 'max N', 's at max N', 'stopped by'], maxBatch.map((m) => [m.path, m.loss, String(m.d), String(m.max_n), m.max_n_seconds.toFixed(1), m.stopped_by])));
    const stem = `jax-${adapterSlug({ vendor: adapter.vendor, architecture: adapter.architecture, description: adapter.description } as never)}-${cfg.runtime}${cfg.quick ? '-quick' : ''}`;
    const file = writeResults('bench/results', stem, {
      adapter,
      runtime: cfg.runtime,
      jax_js_version: jaxVersion,
      config: cfg,
      timing: 'wall clock from the call until loss and both gradients are read back (data()), median after warm-up',
      checks,
      rows,
      max_batch: maxBatch,
      seconds: (Date.now() - t0) / 1000,
      load_average_1_5_15min: { start: loadAtStart, end: loadavg() },
    } as never);
    log(`wrote ${file}`);
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    await rt.close();
  }
}
