/**
 * `npm run bench`: the driver. Opens one headless Chromium, checks both loss paths against the
 * CPU reference, measures the adapter's FMA peak, times every (loss, N, D, path) case, probes the
 * largest batch, then prints the tables and writes bench/results/<adapter-slug>.{json,png}.
 * Progress goes to stderr, the tables to stdout.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBankBench } from './bank.js';
import { checkAgainstReference } from './check.js';
import { timeVsNChart } from './chart-series.js';
import { USAGE, caseSpec, parseBenchArgs, type BenchConfig } from './cli.js';
import { probeMaxBatch } from './probe.js';
import { adapterSlug, caseModes, formatChecks, formatFma, formatMaxBatch, formatRows, mib, ms, ROW_FLOPS_NOTE, rowFlops, rowTiming, writeResults } from './report.js';
import { benchLossOptions, lossOptionNotes } from './loss-options.js';
import { sweepArgs, torchPart, type TorchPart } from './torch-rows.js';
import { planWorkgroups } from './workgroups.js';
import { openBenchSession, type BenchSession } from './session.js';
import type { BenchLoss, BenchPath, CaseSpec, CaseTiming, CheckRow, FmaPeak, ResultRow, ResultsFile } from './types.js';

const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim() || 'error';
}

/** The (N, D) cases: the N sweep at D, then the D sweep at dSweepN, without repeats. */
function shapes(cfg: BenchConfig): [number, number][] {
  const all: [number, number][] = [...cfg.ns.map((n) => [n, cfg.d] as [number, number]), ...cfg.dSweep.map((d) => [cfg.dSweepN, d] as [number, number])];
  return all.filter(([n, d], i) => all.findIndex(([n2, d2]) => n2 === n && d2 === d) === i);
}

/** The results rows of one case's timings (throughput when timed, latency); fused rows name their workgroups. */
function toRows(loss: ResultRow['loss'], path: BenchPath, n: number, d: number, t: CaseTiming, targetWorkgroups: number): ResultRow[] {
  const workgroups = path === 'fused' && loss !== 'matmul' ? { workgroups: planWorkgroups(n, d, benchLossOptions(loss, n), targetWorkgroups) } : {};
  return caseModes(t).map((mode) => ({ loss, n, d, path, ...rowTiming(t, rowFlops(loss, n, d), mode), ...workgroups }));
}

async function run(cfg: BenchConfig, argv: string[], baseDir: string): Promise<void> {
  const started = Date.now();
  log(`losses ${cfg.losses.join(',')}; paths ${cfg.paths.join(',')}; N ${cfg.ns.join(',')} at D ${cfg.d}` +
    (cfg.dSweep.length ? `; D ${cfg.dSweep.join(',')} at N ${cfg.dSweepN}` : '') +
    `; warm-up ≥ ${cfg.warmup} runs and ≥ ${cfg.warmupMs} ms, repeats ${cfg.repeats} (${cfg.slowRepeats} when a run takes > ${cfg.slowMs} ms); probe ${cfg.probe ? 'on' : 'off'}`);
  log(cfg.runtime === 'node' ? 'starting Dawn (Node) ...' : 'bundling the page and starting Chromium ...');
  const session: BenchSession = await openBenchSession('bench/page/entry.ts', log, cfg.runtime);
  try {
    const page = session.main;
    const adapter = await page.call('adapterSummary');
    const slug = adapterSlug(adapter);
    // A --quick run must not overwrite the full results of the same adapter.
    const stem = `${slug}${cfg.runtime === 'node' ? '-node' : ''}${cfg.quick ? '-quick' : ''}`;
    log(`adapter: ${adapter.vendor} / ${adapter.architecture} / ${adapter.description}; timestamp-query ${adapter.timestampQuery ? 'yes' : 'no'}; ${session.version}`);

    // The ceiling.
    let fma: FmaPeak | null = null;
    let fmaError: string | undefined;
    try {
      log('FMA peak ...');
      fma = await page.call('fmaPeak', cfg.fmaWorkgroups, cfg.fmaTargetMs);
      log(formatFma(fma));
    } catch (e) {
      fmaError = oneLine(e);
      log(`FMA peak failed: ${fmaError}`);
    }

    // Correctness first.
    let checks: CheckRow[] = [];
    if (cfg.paths.includes('fused') || cfg.paths.includes('tfjs')) {
      log(`checking fused and tfjs against the float64 reference at N=${cfg.checkN} D=${cfg.checkD} ...`);
      checks = await checkAgainstReference(page, cfg.losses, cfg.checkN, cfg.checkD, cfg.seed + 1000);
      for (const c of checks.filter((c) => !c.ok)) log(`CHECK FAILED: ${c.path} ${c.loss} (${c.error ?? `loss rel ${c.loss_rel_err.toExponential(2)}, grad rel L2 ${c.grad_rel_l2.toExponential(2)}`}); not timed`);
    }
    const passed = (loss: BenchLoss, path: 'fused' | 'tfjs') => checks.some((c) => c.loss === loss && c.path === path && c.ok);

    // The timed cases.
    const rows: ResultRow[] = [];
    const errors: ResultsFile['errors'] = [];
    const timeCase = async (loss: ResultRow['loss'], path: BenchPath, spec: CaseSpec) => {
      const what = `${path} ${loss} N=${spec.n} D=${spec.d}`;
      try {
        const t =
          path === 'fused'
            ? await page.call('timeFused', loss as BenchLoss, spec)
            : path === 'tfjs'
              ? await page.call('timeTfjs', loss as BenchLoss, spec)
              : path === 'wgsl-gemm'
                ? await page.call('timeGemm', spec)
                : await page.call('timeMatmul', spec);
        log(`${what}: warm-up ${t.warmup.runs} runs in ${t.warmup.ms_total.toFixed(0)} ms, wall ${t.warmup.first_wall_ms.map(ms).join('/')} → ${t.warmup.last_wall_ms.map(ms).join('/')} ms`);
        for (const row of toRows(loss, path, spec.n, spec.d, t, adapter.targetWorkgroups)) {
          rows.push(row);
          log(`${what} ${row.mode}: GPU ${ms(row.gpu_ms)} ms, wall median ${ms(row.median_ms)} ms [${ms(row.min_ms)}, ${ms(row.max_ms)}] over ${row.runs}${row.calls_per_batch > 1 ? ` batches of ${row.calls_per_batch}` : ''}; ${row.gflops.toFixed(2)} GFLOP/s; peak ${mib(row.peak_bytes)} MiB`);
        }
      } catch (e) {
        errors.push({ loss, n: spec.n, d: spec.d, path, error: oneLine(e) });
        log(`${what}: FAILED ${oneLine(e)}`);
      }
    };
    for (const [n, d] of shapes(cfg)) {
      const spec = caseSpec(cfg, n, d);
      if (cfg.paths.includes('matmul')) await timeCase('matmul', 'tfjs-matmul', spec);
      if (cfg.paths.includes('gemm')) await timeCase('matmul', 'wgsl-gemm', spec);
      for (const loss of cfg.losses) {
        if (cfg.paths.includes('fused') && passed(loss, 'fused')) await timeCase(loss, 'fused', spec);
        if (cfg.paths.includes('tfjs') && passed(loss, 'tfjs')) await timeCase(loss, 'tfjs', spec);
      }
    }

    // PyTorch after the WebGPU cases (never both on the GPU at once); its probe runs here too.
    let torch: TorchPart;
    try {
      torch = await torchPart(cfg, baseDir, sweepArgs(cfg), (r) => rowFlops(r.loss, r.n, r.d), log);
    } catch (e) {
      torch = { status: `torch: failed, ${oneLine(e)}`, rows: [], maxBatch: [], errors: [] };
    }
    log(torch.status);
    rows.push(...torch.rows);
    errors.push(...torch.errors);

    const results: ResultsFile = {
      adapter: { ...adapter, slug },
      date: new Date().toISOString(),
      browser: session.version,
      runtime: session.runtime,
      argv,
      fma_gflops: fma ? fma.gflops : null,
      fma,
      checks,
      loss_options: lossOptionNotes(cfg.losses),
      rows,
      max_batch: torch.maxBatch,
      errors,
      torch: torch.status,
    };
    let jsonPath = writeResults(cfg.outDir, stem, results);

    // The chart, drawn in the same page before the probe can disturb the GPU process.
    if (session.runtime === 'node') log('chart: not drawn on the node runtime (it needs a page canvas)');
    else if (rows.some((r) => r.d === cfg.d)) {
      try {
        const url = await page.call('renderChart', timeVsNChart(rows, cfg.d, adapter));
        const png = join(cfg.outDir, `${stem}.png`);
        writeFileSync(png, Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64'));
        log(`chart: ${png}`);
      } catch (e) {
        log(`chart failed: ${oneLine(e)}`);
      }
    }

    if (cfg.probe) {
      results.max_batch = [...(await probeMaxBatch(session, cfg, log)), ...torch.maxBatch];
      jsonPath = writeResults(cfg.outDir, stem, results);
    }

    const out: string[] = [];
    out.push(`adapter: ${adapter.description || adapter.vendor} (${adapter.vendor}/${adapter.architecture}); runtime ${session.runtime}; ${session.version}; one device shared by all paths (tfjs-backend-webgpu's)`);
    out.push(formatFma(fma, fmaError));
    if (checks.length) out.push('', `reference check (loss rel ≤ 1e-4, grad rel L2 ≤ 1e-3):`, formatChecks(checks));
    out.push('', torch.status);
    out.push('', `fwd+bwd timings per call, GPU ms the headline (GFLOP/s at GPU ms where measured, else wall; ${ROW_FLOPS_NOTE}; runs×calls = batches in throughput mode):`, rows.length ? formatRows(rows) : '(no rows)');
    for (const [loss, note] of Object.entries(results.loss_options)) out.push(`  ${loss}: ${note}`);
    if (errors.length) out.push('', 'failed cases:', ...errors.map((e) => `  ${e.path} ${e.loss} N=${e.n} D=${e.d}: ${e.error}`));
    if (results.max_batch.length) out.push('', 'max batch:', formatMaxBatch(results.max_batch));
    out.push('', `results: ${jsonPath}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await session.close();
  }
}

/** Entry point: parse flags, run, set the exit status. */
export async function main(argv: string[], baseDir = 'bench'): Promise<number> {
  let cfg: BenchConfig | null;
  try {
    cfg = parseBenchArgs(argv);
  } catch (e) {
    process.stderr.write(`bench: ${oneLine(e)}\n\n${USAGE}\n`);
    return 2;
  }
  if (!cfg) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (cfg.bank) await runBankBench(cfg, argv, log, baseDir);
    else await run(cfg, argv, baseDir);
    return 0;
  } catch (e) {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
