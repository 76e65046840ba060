/**
 * `npm run bench -- --bank`: the bank (queue) form. Checks the fused kernels and tfjsOpsLoss
 * against the float64 reference at K = --bank-check-k, then times both forward+backward at each
 * K of --bank-k (medians after warm-up, peak memory of each path), prints the table and writes
 * bench/results/<adapter-slug>[-node]-bank.json. Method: bench/NOTES.md "Bank (queue) form".
 */
import { relL2, GRAD_REL_L2_TOL, LOSS_REL_TOL } from './check.js';
import { caseSpec, type BenchConfig } from './cli.js';
import { bankArgs, torchPart } from './torch-rows.js';
import { referenceLoss } from '../src/reference/index.js';
import { benchViews, normalArray } from './random.js';
import { planWorkgroups } from './workgroups.js';
import { adapterSlug, caseModes, mib, ms, pad, rowTiming, writeResults } from './report.js';
import { openBenchSession, type BenchPage } from './session.js';
import type { BankCaseSpec, BankCheckRow, BankResultsFile, BankRow, BenchLoss, CaseTiming } from './types.js';

/** Nominal flops of a bank-form forward+backward: S = U₁Bᵀ, its recomputation (or dS), W·B. */
export function bankFlops(n: number, d: number, k: number): number {
  return 6 * n * k * d;
}

/** Check both paths' bank form against the float64 reference at (N, D, K); one row per path. */
async function checkBank(page: BenchPage, loss: BenchLoss, n: number, d: number, k: number, seed: number): Promise<BankCheckRow[]> {
  const { z1, z2 } = benchViews(n, d, seed);
  const bank = normalArray(k * d, seed + 2); // as bench/page/bank-case.ts benchBank
  const ref = referenceLoss(z1, z2, n, d, { loss, bank });
  const got = await page.call('runBankBothPaths', z1, z2, bank, n, d, loss);
  return (['fused', 'tfjs'] as const).map((path) => {
    const v = got[path];
    const lossRel = Math.abs(v.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-30);
    const gradRel = relL2([v.gradZ1, v.gradZ2], [ref.gradZ1, ref.gradZ2]);
    const ok = Number.isFinite(v.loss) && lossRel <= LOSS_REL_TOL && gradRel <= GRAD_REL_L2_TOL;
    return { loss, path, n, d, k, loss_rel_err: lossRel, grad_rel_l2: gradRel, ok };
  });
}

/** The rows of one case: throughput (when timed) and latency. */
function toRows(loss: BenchLoss, path: 'fused' | 'tfjs', spec: BankCaseSpec, t: CaseTiming, targetWorkgroups: number): BankRow[] {
  // A GPU bank of K rows as the plan sees it (only k matters there).
  const bank = { buffer: {} as GPUBuffer, k: spec.k };
  const workgroups = path === 'fused' ? { workgroups: planWorkgroups(spec.n, spec.d, { loss, bank }, targetWorkgroups) } : {};
  return caseModes(t).map((mode) => ({ loss, n: spec.n, d: spec.d, k: spec.k, path, ...rowTiming(t, bankFlops(spec.n, spec.d, spec.k), mode), ...workgroups }));
}

/** The bank-form timing table, with the tfjs/fused speed-up on the fused rows. */
export function formatBankRows(rows: BankRow[]): string {
  const head = ['loss', 'N', 'D', 'K', 'path', 'mode', 'median ms', 'min', 'max', 'runs', 'GPU ms', 'GFLOP/s', 'peak MiB', 'dispatcher/pool MiB', 'tfjs/fused', 'fused/torch best'];
  const body = rows.map((r) => {
    const tfjs = rows.find((o) => o.path === 'tfjs' && o.loss === r.loss && o.n === r.n && o.d === r.d && o.k === r.k && o.mode === r.mode);
    const speedup = r.path === 'fused' && tfjs ? `${(tfjs.median_ms / r.median_ms).toFixed(1)}x` : '';
    const torch = rows.filter((o) => o.path === 'torch' && o.loss === r.loss && o.n === r.n && o.d === r.d && o.k === r.k && o.mode === r.mode);
    const vsTorch = r.path === 'fused' && torch.length ? `${(r.median_ms / Math.min(...torch.map((o) => o.median_ms))).toFixed(2)}x` : '';
    const part = r.path === 'fused' ? r.peak_bytes_dispatcher : r.pool_bytes;
    return [r.loss, String(r.n), String(r.d), String(r.k), r.variant ? `${r.path}:${r.variant}` : r.path, r.mode, ms(r.median_ms), ms(r.min_ms), ms(r.max_ms), String(r.runs), ms(r.gpu_ms), r.gflops.toFixed(2), mib(r.peak_bytes), mib(part), speedup, vsTorch];
  });
  return pad([head, ...body]);
}

/** The bank-form check table. */
export function formatBankChecks(rows: BankCheckRow[]): string {
  const head = ['loss', 'path', 'N', 'D', 'K', 'loss rel err', 'grad rel L2', 'ok'];
  return pad([head, ...rows.map((r) => [r.loss, r.path, String(r.n), String(r.d), String(r.k), r.loss_rel_err.toExponential(2), r.grad_rel_l2.toExponential(2), r.ok ? 'yes' : 'NO'])]);
}

/** Run the bank-form cases of `cfg`; progress through `log`, the tables on stdout. */
export async function runBankBench(cfg: BenchConfig, argv: string[], log: (line: string) => void, baseDir = 'bench'): Promise<void> {
  const started = Date.now();
  const { bankN: n, bankD: d } = cfg;
  log(`bank form: losses ${cfg.bankLosses.join(',')}; N ${n}, D ${d}, K ${cfg.bankKs.join(',')}; check at K ${cfg.bankCheckK}; warmup ${cfg.warmup}, repeats ${cfg.repeats} (${cfg.slowRepeats} when a run takes > ${cfg.slowMs} ms)`);
  log(cfg.runtime === 'node' ? 'starting Dawn (Node) ...' : 'bundling the page and starting Chromium ...');
  const session = await openBenchSession('bench/page/entry.ts', log, cfg.runtime);
  try {
    const page = session.main;
    const adapter = await page.call('adapterSummary');
    const slug = adapterSlug(adapter);
    const stem = `${slug}${cfg.runtime === 'node' ? '-node' : ''}-bank`;
    log(`adapter: ${adapter.vendor} / ${adapter.architecture} / ${adapter.description}; timestamp-query ${adapter.timestampQuery ? 'yes' : 'no'}; ${session.version}`);

    const checks: BankCheckRow[] = [];
    for (const loss of cfg.bankLosses) {
      log(`checking ${loss} bank form against the float64 reference at N=${n} D=${d} K=${cfg.bankCheckK} ...`);
      const rows = await checkBank(page, loss, n, d, cfg.bankCheckK, cfg.seed + 1000);
      checks.push(...rows);
      for (const c of rows) log(`  ${c.path}: loss rel ${c.loss_rel_err.toExponential(2)}, grad rel L2 ${c.grad_rel_l2.toExponential(2)}${c.ok ? '' : ' — CHECK FAILED; not timed'}`);
    }
    const passed = (loss: BenchLoss, path: 'fused' | 'tfjs') => checks.some((c) => c.loss === loss && c.path === path && c.ok);

    const rows: BankRow[] = [];
    const errors: BankResultsFile['errors'] = [];
    const results: BankResultsFile = { adapter: { ...adapter, slug }, date: new Date().toISOString(), browser: session.version, runtime: session.runtime, argv, checks, rows, errors, torch: 'torch: not run yet' };
    // Written after every case, so a run cut short (K = 65536 takes minutes on a CPU adapter) keeps what it measured.
    let jsonPath = writeResults(cfg.outDir, stem, results);
    for (const k of cfg.bankKs) {
      const spec: BankCaseSpec = { ...caseSpec(cfg, n, d), k };
      for (const loss of cfg.bankLosses) {
        for (const path of ['fused', 'tfjs'] as const) {
          if (!passed(loss, path)) continue;
          const what = `${path} bank ${loss} N=${n} D=${d} K=${k}`;
          try {
            const t = await page.call(path === 'fused' ? 'timeBankFused' : 'timeBankTfjs', loss, spec);
            for (const row of toRows(loss, path, spec, t, adapter.targetWorkgroups)) {
              rows.push(row);
              log(`${what} ${row.mode}: median ${ms(row.median_ms)} ms [${ms(row.min_ms)}, ${ms(row.max_ms)}] over ${row.runs}; GPU ${ms(row.gpu_ms)} ms; ${row.gflops.toFixed(2)} GFLOP/s; peak ${mib(row.peak_bytes)} MiB`);
            }
          } catch (e) {
            const error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim() || 'error';
            errors.push({ loss, n, d, k, path, error });
            log(`${what}: FAILED ${error}`);
          }
          jsonPath = writeResults(cfg.outDir, stem, results);
        }
      }
    }

    // PyTorch's bank form after the WebGPU cases (never both on the GPU at once).
    try {
      const torch = await torchPart(cfg, baseDir, bankArgs(cfg), (r) => bankFlops(r.n, r.d, r.k ?? 0), log);
      results.torch = torch.status;
      rows.push(...torch.rows.map((r) => ({ ...r, k: r.k ?? 0 })));
      errors.push(...torch.errors);
    } catch (e) {
      results.torch = `torch: failed, ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
    }
    log(results.torch);
    jsonPath = writeResults(cfg.outDir, stem, results);

    const out: string[] = [];
    out.push(`adapter: ${adapter.description || adapter.vendor} (${adapter.vendor}/${adapter.architecture}); runtime ${session.runtime}; ${session.version}; one device shared by both paths (tfjs-backend-webgpu's)`);
    out.push('', `bank-form reference check (loss rel ≤ ${LOSS_REL_TOL}, grad rel L2 ≤ ${GRAD_REL_L2_TOL}):`, formatBankChecks(checks));
    out.push('', results.torch);
    out.push('', `bank-form fwd+bwd timings (GFLOP/s counts a nominal 6·N·K·D; peak includes the bank):`, rows.length ? formatBankRows(rows) : '(no rows)');
    if (errors.length) out.push('', 'failed cases:', ...errors.map((e) => `  ${e.path} ${e.loss} N=${e.n} D=${e.d} K=${e.k}: ${e.error}`));
    out.push('', `results: ${jsonPath}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await session.close();
  }
}
