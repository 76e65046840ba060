/**
 * The max-batch probe: for each path, N doubles from --probe-start until a run fails (a thrown
 * error: out of memory, a validation error, a device limit, a lost device), takes longer than the
 * per-run budget, or would (4× the last run's time, the O(N²) scaling, is over 1.5× the budget).
 * Each path × loss gets a fresh page — a new device on the same adapter — so a lost device or a
 * full tfjs buffer pool cannot touch the other measurements. tfjs compiles shaders per shape, so
 * its probe runs each N twice and times the second run (see probeTfjs); the fused pipelines do
 * not depend on N and are compiled once when the page starts.
 */
import type { BenchConfig } from './cli.js';
import type { BenchSession } from './session.js';
import type { BenchLoss, MaxBatchRow } from './types.js';

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim().slice(0, 300) || 'error';
}

/** Reject when `p` has not settled after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what} gave no result after ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Probe one path for one loss. */
async function probeOne(session: BenchSession, cfg: BenchConfig, path: 'fused' | 'tfjs', loss: BenchLoss, log: (s: string) => void): Promise<MaxBatchRow> {
  const d = cfg.probeD;
  const budget = path === 'fused' ? cfg.probeBudgetFusedS : cfg.probeBudgetS;
  const row: MaxBatchRow = { path, loss, d, max_n: null, max_n_seconds: null, stopped_by: '' };
  let page;
  try {
    page = await session.openPage();
    await page.call('start');
  } catch (e) {
    await page?.close();
    return { ...row, stopped_by: `could not open a page: ${oneLine(e)}` };
  }
  try {
    for (let n = cfg.probeStart; ; n *= 2) {
      if (n > cfg.probeMaxN) {
        row.stopped_by = `reached --probe-max-n ${cfg.probeMaxN}`;
        break;
      }
      if (row.max_n_seconds !== null && 4 * row.max_n_seconds > 1.5 * budget) {
        row.stopped_by = `time budget (predicted): N=${n} would take ≈${(4 * row.max_n_seconds).toFixed(0)} s (4× the ${row.max_n_seconds.toFixed(1)} s at N=${row.max_n}) > 1.5 × ${budget} s`;
        break;
      }
      log(`probe ${path} ${loss} D=${d} N=${n} ...`);
      let seconds: number;
      try {
        const call = path === 'fused' ? page.call('probeFused', loss, n, d, cfg.seed) : page.call('probeTfjs', loss, n, d, cfg.seed);
        seconds = await withTimeout(call, Math.max(4 * budget, budget + 60) * 1000, `N=${n}`);
      } catch (e) {
        row.stopped_by = `N=${n}: ${oneLine(e)}`;
        break;
      }
      log(`probe ${path} ${loss} D=${d} N=${n}: ${seconds.toFixed(2)} s`);
      if (seconds > budget) {
        row.stopped_by = `time budget: N=${n} took ${seconds.toFixed(1)} s > ${budget} s`;
        break;
      }
      row.max_n = n;
      row.max_n_seconds = seconds;
    }
  } finally {
    await page.close();
  }
  return row;
}

/** Probe every selected path (fused, tfjs) for each probe loss. */
export async function probeMaxBatch(session: BenchSession, cfg: BenchConfig, log: (s: string) => void): Promise<MaxBatchRow[]> {
  const rows: MaxBatchRow[] = [];
  for (const path of ['fused', 'tfjs'] as const) {
    if (!cfg.paths.includes(path)) continue;
    for (const loss of cfg.probeLosses) {
      const row = await probeOne(session, cfg, path, loss, log);
      log(`probe ${path} ${loss}: max N ${row.max_n ?? '-'} (${row.stopped_by})`);
      rows.push(row);
    }
  }
  return rows;
}
