/** The results on stdout (tables) and on disk (bench/results/<adapter-slug>.json). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from './stats.js';
import type { AdapterSummary, BenchMode, BankResultsFile, CaseTiming, CheckRow, FmaPeak, MaxBatchRow, ResultRow, ResultsFile, RowTiming } from './types.js';

/** A file-name-safe name for the adapter: vendor-architecture-description, lowercase. */
export function adapterSlug(a: AdapterSummary): string {
  const slug = [a.vendor, a.architecture, a.description]
    .filter(Boolean)
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (slug || 'unknown-adapter').slice(0, 80).replace(/-+$/, '');
}

/**
 * Flop-equivalents of one row's similarity products (forward S, then the backward's two products
 * with U): 6·(2N)²·D for a loss over the 2N×2N similarities (supcon included), 6·N²·D for siglip
 * (one N×N direction, u1 rows against u2 rows), 2·(2N)²·D for U·Uᵀ alone (matMul, GEMM).
 */
export function rowFlops(loss: ResultRow['loss'], n: number, d: number): number {
  if (loss === 'matmul') return 2 * (2 * n) ** 2 * d;
  return 6 * (loss === 'siglip' ? n : 2 * n) ** 2 * d;
}

/** {@link rowFlops} in words, for the table's caption. */
export const ROW_FLOPS_NOTE = '6·(2N)²·D, siglip 6·N²·D, matMul rows 2·(2N)²·D';

/**
 * The measured fields of a row from one case's timings in `mode` (throughput only when the case
 * has throughput timings); `flops` of one call gives GFLOP/s at the median.
 */
export function rowTiming(t: CaseTiming, flops: number, mode: BenchMode = 'latency'): RowTiming {
  const wall = mode === 'throughput' ? t.throughput!.wallMs : t.wallMs;
  const s = summarize(wall);
  const gpu = mode === 'throughput' ? (t.throughput!.gpuMs.length ? summarize(t.throughput!.gpuMs).median : null) : t.gpuMs;
  return {
    mode,
    median_ms: s.median,
    wall_ms: s.median,
    min_ms: s.min,
    max_ms: s.max,
    runs: wall.length,
    calls_per_batch: mode === 'throughput' ? t.throughput!.calls : 1,
    gpu_ms: gpu,
    gflops: flops / ((gpu ?? s.median) * 1e6),
    peak_bytes: t.peakBytes,
    ...(t.peakBytesDispatcher !== undefined ? { peak_bytes_dispatcher: t.peakBytesDispatcher } : {}),
    ...(t.poolBytes !== undefined ? { pool_bytes: t.poolBytes } : {}),
    warmup: t.warmup,
  };
}

/** The modes a case was timed in: latency always, throughput when the path offered it. */
export function caseModes(t: CaseTiming): BenchMode[] {
  return t.throughput ? ['throughput', 'latency'] : ['latency'];
}

/** A table: the first column left-aligned, the others right-aligned. */
export function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  return cells.map((r) => r.map((x, c) => (c < 1 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ')).join('\n');
}

/** Milliseconds, to 3 significant figures or so; '-' for null. */
export const ms = (v: number | null) => (v === null ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
/** Bytes as MiB, one decimal; '-' when absent. */
export const mib = (b: number | null | undefined) => (b === undefined || b === null ? '-' : (b / 2 ** 20).toFixed(1));

/** Time of a row for comparisons: GPU ms where measured, else wall ms. */
const headline = (r: ResultRow) => r.gpu_ms ?? r.median_ms;

/**
 * The timing table: per call, GPU ms (the headline) then wall ms; on fused rows tfjs ÷ fused (same
 * mode) and fused ÷ torch (same mode; fp32 with TF32 off, and the fastest torch variant).
 */
export function formatRows(rows: ResultRow[]): string {
  const head = ['loss', 'N', 'D', 'path', 'mode', 'GPU ms', 'wall ms', 'min', 'max', 'runs', 'GFLOP/s', 'peak MiB', 'tfjs/fused', 'fused/torch fp32', 'fused/torch best'];
  const same = (r: ResultRow, o: ResultRow) => o.loss === r.loss && o.n === r.n && o.d === r.d && o.mode === r.mode;
  const ratio = (a: number, b: number | undefined) => (b === undefined ? '' : `${(a / b).toFixed(2)}x`);
  const body = rows.map((r) => {
    const fused = r.path === 'fused';
    const tfjs = rows.find((o) => o.path === 'tfjs' && same(r, o));
    const torch = rows.filter((o) => o.path === 'torch' && same(r, o));
    const fp32 = torch.find((o) => o.variant === 'fp32');
    const best = torch.length ? Math.min(...torch.map(headline)) : undefined;
    return [
      r.loss, String(r.n), String(r.d), r.variant ? `${r.path}:${r.variant}` : r.path, r.mode, ms(r.gpu_ms), ms(r.median_ms), ms(r.min_ms), ms(r.max_ms),
      `${r.runs}${r.calls_per_batch > 1 ? `×${r.calls_per_batch}` : ''}`, r.gflops.toFixed(2), mib(r.peak_bytes),
      fused && tfjs ? ratio(headline(tfjs), headline(r)) : '',
      fused && fp32 ? ratio(headline(r), headline(fp32)) : '',
      fused ? ratio(headline(r), best) : '',
    ];
  });
  return pad([head, ...body]);
}

/** The reference-check table; the errors of paths that threw follow it. */
export function formatChecks(rows: CheckRow[]): string {
  const head = ['loss', 'path', 'N', 'D', 'loss rel err', 'grad rel L2', 'ok'];
  const table = pad([head, ...rows.map((r) => [r.loss, r.path, String(r.n), String(r.d), r.loss_rel_err.toExponential(2), r.grad_rel_l2.toExponential(2), r.ok ? 'yes' : r.error ? 'NO (threw)' : 'NO'])]);
  return [table, ...rows.filter((r) => r.error).map((r) => `  ${r.path} ${r.loss} threw: ${r.error}`)].join('\n');
}

/** The max-batch table. */
export function formatMaxBatch(rows: MaxBatchRow[]): string {
  const head = ['path', 'loss', 'D', 'max N', 's at max N', 'stopped by'];
  return pad([head, ...rows.map((r) => [r.path, r.loss, String(r.d), r.max_n === null ? '-' : String(r.max_n), r.max_n_seconds === null ? '-' : r.max_n_seconds.toFixed(2), r.stopped_by])]);
}

/** One line on the FMA ceiling. */
export function formatFma(f: FmaPeak | null, error?: string): string {
  if (!f) return `FMA peak: not measured (${error ?? 'skipped'})`;
  return `FMA peak: ${f.gflops.toFixed(1)} GFLOP/s (${(f.flops / 1e9).toFixed(2)} GFLOP in ${f.ms.toFixed(2)} ms ${f.timing} time; ${f.workgroups} workgroups × 256, ${f.iterations} loop trips)`;
}

/** Write the JSON results (the sweep's or the bank form's) to `<dir>/<stem>.json`; returns its path. */
export function writeResults(dir: string, stem: string, results: ResultsFile | BankResultsFile): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${stem}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
