/**
 * PyTorch rows for the sweep: run bench/torch/bench_torch.py on the same losses and shapes (after
 * the WebGPU cases, so the two never share the GPU at once) and turn its JSON into results rows.
 * When torch is absent, or present without CUDA under `--torch auto`, says so and adds nothing.
 */
import type { BenchConfig } from './cli.js';
import { findTorchPython, runTorchBench, torchScript } from './torch-python.js';
import type { BenchLoss, MaxBatchRow, ResultRow, WarmupEvidence } from './types.js';
import { summarize } from './stats.js';

/** One row of bench_torch.py's JSON. */
interface TorchScriptRow {
  loss: BenchLoss;
  n: number;
  d: number;
  /** Bank rows K (bank form only). */
  k?: number;
  variant: string;
  mode: 'latency' | 'throughput';
  calls_per_batch: number;
  runs: number;
  wall_ms: number;
  gpu_ms: number | null;
  wall_ms_all: number[];
  warmup: WarmupEvidence;
  peak_bytes: number | null;
}

interface TorchScriptResults {
  torch: string;
  device: string;
  cuda: string | null;
  variants: string[];
  rows: TorchScriptRow[];
  errors: { loss: string; n: number; d: number; k?: number; variant: string; error: string }[];
  max_batch: MaxBatchRow[];
}

/** A torch results row: the sweep's fields, and `k` in the bank form. */
export type TorchRow = ResultRow & { loss: BenchLoss; path: 'torch'; k?: number };

/** What the torch side contributed to a run. */
export interface TorchPart {
  /** Shown in the table header and stored in the JSON: what ran, or why nothing did. */
  status: string;
  rows: TorchRow[];
  maxBatch: MaxBatchRow[];
  errors: { loss: string; n: number; d: number; k?: number; path: 'torch'; error: string }[];
}

/** The script's timing flags: the run's warm-up, batch length, repeats and seed. */
function timingArgs(cfg: BenchConfig): string[] {
  return ['--warmup-ms', String(cfg.warmupMs), '--batch-ms', String(cfg.batchMs), '--repeats', String(cfg.repeats), '--seed', String(cfg.seed)];
}

/** The script's flags for the sweep: its losses, N at D, and the probe when on. */
export function sweepArgs(cfg: BenchConfig): string[] {
  const args = ['--loss', cfg.losses.join(','), '--n', cfg.ns.join(','), '--d', String(cfg.d), ...timingArgs(cfg)];
  if (cfg.probe) args.push('--probe', '--probe-loss', cfg.probeLosses.join(','), '--probe-d', String(cfg.probeD), '--probe-start', String(cfg.probeStart), '--probe-budget', String(cfg.probeBudgetS), '--probe-max-n', String(cfg.probeMaxN));
  return [...args, ...cfg.torchArgs];
}

/** The script's flags for the bank run: its losses, N anchors of D against each K, no in-batch cases. */
export function bankArgs(cfg: BenchConfig): string[] {
  return ['--loss', cfg.bankLosses.join(','), '--n', 'none', '--bank-n', String(cfg.bankN), '--d', String(cfg.bankD), '--bank-k', cfg.bankKs.join(','), ...timingArgs(cfg), ...cfg.torchArgs];
}

/**
 * Run the torch side as `cfg.torch` asks, with the script's case flags `args` ({@link sweepArgs},
 * {@link bankArgs}); `baseDir` holds torch/bench_torch.py. `flops` of one call gives GFLOP/s.
 */
export async function torchPart(cfg: BenchConfig, baseDir: string, args: string[], flops: (r: { loss: BenchLoss; n: number; d: number; k?: number }) => number, log: (line: string) => void): Promise<TorchPart> {
  const none = (status: string): TorchPart => ({ status, rows: [], maxBatch: [], errors: [] });
  if (cfg.torch === 'off') return none('torch: off (--torch off)');
  const found = findTorchPython();
  if ('absent' in found) return none(`torch: not run, ${found.absent}`);
  if (!found.cuda && cfg.torch === 'auto') return none(`torch: not run, ${found.python} has torch ${found.torch} without CUDA (--torch on runs it on the CPU)`);
  log(`torch ${found.torch} on ${found.device} (${found.python}) ...`);
  const res = await runTorchBench<TorchScriptResults>(found.python, torchScript(baseDir), args, log);
  const rows = res.rows.map((r): TorchRow => {
    const s = summarize(r.wall_ms_all);
    return {
      loss: r.loss, n: r.n, d: r.d, ...(r.k ? { k: r.k } : {}), path: 'torch', variant: r.variant, mode: r.mode,
      median_ms: r.wall_ms, wall_ms: r.wall_ms, min_ms: s.min, max_ms: s.max, runs: r.runs,
      calls_per_batch: r.calls_per_batch, gpu_ms: r.gpu_ms,
      gflops: flops(r) / ((r.gpu_ms ?? r.wall_ms) * 1e6),
      peak_bytes: r.peak_bytes, warmup: r.warmup,
    };
  });
  const errors = res.errors.map((e) => ({ loss: e.loss, n: e.n, d: e.d, ...(e.k ? { k: e.k } : {}), path: 'torch' as const, error: `${e.variant}: ${e.error}` }));
  return { status: `torch ${res.torch} on ${res.device}${res.cuda ? ` (CUDA ${res.cuda})` : ''}, variants ${res.variants.join(', ')}`, rows, maxBatch: res.max_batch, errors };
}
