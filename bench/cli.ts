/**
 * `npm run bench -- [flags]`: what to run. `--quick` is a small preset (about a minute on
 * SwiftShader); any flag given explicitly overrides the preset.
 */
import { parseArgs } from 'node:util';
import type { BankLoss, BenchLoss, BenchRuntime, CaseSpec } from './types.js';

/** The losses with a bank form (`--bank-loss`). */
const BANK_LOSSES: readonly BankLoss[] = ['ntxent', 'dcl', 'dclw', 'flatnce', 'dualtemp'];
/** Every loss of the sweep (`--loss all`, the default): the bank-capable five, then supcon and siglip. */
const ALL_LOSSES: readonly BenchLoss[] = [...BANK_LOSSES, 'supcon', 'siglip'];
const ALL_PATHS = ['fused', 'tfjs', 'matmul', 'gemm'] as const;
const RUNTIMES: readonly BenchRuntime[] = ['chromium', 'node'];
/** A path to time: the fused loss, the tfjs-ops loss, tfjs's bare matMul, the WGSL GEMM (bench/gemm.wgsl). */
export type PathFlag = (typeof ALL_PATHS)[number];

/** Everything the driver needs. */
export interface BenchConfig {
  quick: boolean;
  /** chromium (default) or node (Dawn in this process). */
  runtime: BenchRuntime;
  losses: BenchLoss[];
  paths: PathFlag[];
  /** Batch sizes of the N sweep, at D = {@link BenchConfig.d}. */
  ns: number[];
  d: number;
  /** Widths of the D sweep, at N = {@link BenchConfig.dSweepN}. */
  dSweep: number[];
  dSweepN: number;
  warmup: number;
  /** Sustained warm-up per case, ms (GPU clocks ramp up only under sustained work). */
  warmupMs: number;
  /** Throughput mode: aim for batches of calls lasting this long, ms. */
  batchMs: number;
  /** PyTorch rows (bench/torch/): auto = when a python3 has torch with CUDA; on = with any torch (CPU too); off. */
  torch: 'auto' | 'on' | 'off';
  /** Extra flags for bench/torch/bench_torch.py (--torch-args). */
  torchArgs: string[];
  repeats: number;
  slowMs: number;
  slowRepeats: number;
  checkN: number;
  checkD: number;
  probe: boolean;
  probeLosses: BenchLoss[];
  probeD: number;
  probeStart: number;
  probeBudgetS: number;
  /** Budget of the fused path's probe runs (seconds); --probe-budget-fused, else probeBudgetS. */
  probeBudgetFusedS: number;
  probeMaxN: number;
  fmaWorkgroups: number;
  fmaTargetMs: number;
  outDir: string;
  seed: number;
  /** `--bank`: run only the bank-form (queue) cases instead of the sweep. */
  bank: boolean;
  bankLosses: BankLoss[];
  bankN: number;
  bankD: number;
  bankKs: number[];
  /** K of the bank-form reference check (at bankN × bankD). */
  bankCheckK: number;
}

export const USAGE = `npm run bench -- [flags]

Times, on one WebGPU device (headless Chromium's, or Dawn's in Node with --runtime node): the
fused forward+backward of each loss, the same loss as tfjs ops under tf.valueAndGrads, tfjs's
bare matMul(U, Uᵀ), a tiled WGSL GEMM of U·Uᵀ (bench/gemm.wgsl), and the adapter's FMA peak.
Writes bench/results/<adapter>.json and .png (<adapter>-quick.* with --quick; -node in the name
for the node runtime, which draws no chart).

  --runtime R             chromium (default) | node (Dawn, npm 'webgpu'; no browser)

  --quick                 small preset: dcl only; N 256,512 at D 128; no D sweep; no probe
  --loss LIST             losses, comma-separated, or all (default all: ntxent, dcl, dclw,
                          flatnce, dualtemp, supcon, siglip; supcon's labels: i mod max(2, ⌊N/8⌋))
  --paths LIST            fused,tfjs,matmul,gemm (default all four)
  --n LIST                N sweep (default 128,256,512,1024,2048)
  --d NUM                 D of the N sweep (default 128)
  --d-sweep LIST          D sweep, or none (default 64,256)
  --d-sweep-n NUM         N of the D sweep (default 1024)
  --warmup NUM            untimed runs per case, at least (default 1) ...
  --warmup-ms NUM         ... and at least this many ms of them back to back, so the GPU clock
                          is up when timing starts (default 300)
  --batch-ms NUM          throughput mode: calls per batch chosen so a batch lasts ≈ this (default 50)
  --torch MODE            PyTorch rows from bench/torch/bench_torch.py: auto (when python3 has torch
                          with CUDA; default), on (any torch, CPU too: a smoke check), off
  --torch-args="FLAGS"    extra flags for the torch script (e.g. --torch-args="--variants fp32,tf32")
  --repeats NUM           timed runs per case (default 5)
  --slow-ms NUM           a case whose first run takes longer than this ...
  --slow-repeats NUM      ... gets this many timed runs instead (defaults 5000, 3)
  --check-n NUM, --check-d NUM   shape of the reference check (default 64, 32)
  --probe / --no-probe    max-batch probe (default on; off with --quick)
  --probe-loss LIST       losses to probe (default dcl)
  --probe-d NUM           D of the probe (default 128)
  --probe-start NUM       first N of the probe, doubled until it fails (default 1024)
  --probe-budget SEC      time budget of one probe run (default 60)
  --probe-budget-fused SEC   the fused path's budget, when it should go further (default: --probe-budget)
  --probe-max-n NUM       stop doubling past this N (default 1048576)
  --fma-workgroups NUM    workgroups of the FMA microkernel (default 4096)
  --fma-target-ms NUM     run it until one dispatch takes this long (default 200; 50 with --quick)
  --bank                  bank (queue) form only, instead of the sweep: N anchors against K bank
                          rows, fused vs tfjsOpsLoss, fwd+bwd; writes <adapter>[-node]-bank.json
  --bank-loss LIST        losses of the bank form (default ntxent; supcon and siglip have none)
  --bank-n NUM, --bank-d NUM   N and D of the bank form (default 256, 128)
  --bank-k LIST           bank sizes K (default 4096,65536)
  --bank-check-k NUM      K of the bank form's float64 reference check (default 4096)
  --out DIR               results directory (default bench/results)
  --seed NUM              input seed (default 1)
  --help`;

function list(text: string, flag: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new Error(`${flag} needs at least one value`);
  return items;
}

function int(text: string, flag: string, min = 1): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new Error(`${flag} must be an integer ≥ ${min}, got '${text}'`);
  return v;
}

function ints(text: string, flag: string, min = 1): number[] {
  return list(text, flag).map((t) => int(t, flag, min));
}

function losses<L extends BenchLoss>(text: string, flag: string, known: readonly L[]): L[] {
  if (text === 'all') return [...known];
  return list(text, flag).map((l) => {
    if (!(known as readonly string[]).includes(l)) throw new Error(`${flag}: unknown loss '${l}' (one of ${known.join(', ')})`);
    return l as L;
  });
}

/** Parse the command line; throws with a one-line message on a bad flag. Null means --help. */
export function parseBenchArgs(argv: string[]): BenchConfig | null {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      runtime: { type: 'string' },
      loss: { type: 'string' },
      paths: { type: 'string' },
      n: { type: 'string' },
      d: { type: 'string' },
      'd-sweep': { type: 'string' },
      'd-sweep-n': { type: 'string' },
      warmup: { type: 'string' },
      'warmup-ms': { type: 'string' },
      'batch-ms': { type: 'string' },
      torch: { type: 'string' },
      'torch-args': { type: 'string' },
      repeats: { type: 'string' },
      'slow-ms': { type: 'string' },
      'slow-repeats': { type: 'string' },
      'check-n': { type: 'string' },
      'check-d': { type: 'string' },
      probe: { type: 'boolean' },
      'no-probe': { type: 'boolean' },
      'probe-loss': { type: 'string' },
      'probe-d': { type: 'string' },
      'probe-start': { type: 'string' },
      'probe-budget': { type: 'string' },
      'probe-budget-fused': { type: 'string' },
      'probe-max-n': { type: 'string' },
      'fma-workgroups': { type: 'string' },
      'fma-target-ms': { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      bank: { type: 'boolean' },
      'bank-loss': { type: 'string' },
      'bank-n': { type: 'string' },
      'bank-d': { type: 'string' },
      'bank-k': { type: 'string' },
      'bank-check-k': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (v.help) return null;
  const quick = v.quick ?? false;
  const paths = v.paths === undefined ? [...ALL_PATHS] : list(v.paths, '--paths');
  for (const p of paths) if (!(ALL_PATHS as readonly string[]).includes(p)) throw new Error(`--paths: unknown path '${p}' (one of ${ALL_PATHS.join(', ')})`);
  const torch = (v.torch ?? 'auto') as BenchConfig['torch'];
  if (!['auto', 'on', 'off'].includes(torch)) throw new Error(`--torch: '${v.torch}' is not one of auto, on, off`);
  const runtime = (v.runtime ?? 'chromium') as BenchRuntime;
  if (!RUNTIMES.includes(runtime)) throw new Error(`--runtime: unknown runtime '${v.runtime}' (one of ${RUNTIMES.join(', ')})`);
  return {
    quick,
    runtime,
    losses: v.loss !== undefined ? losses(v.loss, '--loss', ALL_LOSSES) : quick ? ['dcl'] : [...ALL_LOSSES],
    paths: paths as PathFlag[],
    ns: v.n !== undefined ? ints(v.n, '--n', 2) : quick ? [256, 512] : [128, 256, 512, 1024, 2048],
    d: v.d !== undefined ? int(v.d, '--d') : 128,
    dSweep: v['d-sweep'] === 'none' ? [] : v['d-sweep'] !== undefined ? ints(v['d-sweep'], '--d-sweep') : quick ? [] : [64, 256],
    dSweepN: v['d-sweep-n'] !== undefined ? int(v['d-sweep-n'], '--d-sweep-n', 2) : 1024,
    warmup: v.warmup !== undefined ? int(v.warmup, '--warmup', 0) : 1,
    warmupMs: v['warmup-ms'] !== undefined ? int(v['warmup-ms'], '--warmup-ms', 0) : 300,
    batchMs: v['batch-ms'] !== undefined ? int(v['batch-ms'], '--batch-ms') : 50,
    torch,
    torchArgs: v['torch-args'] ? v['torch-args'].split(/\s+/).filter(Boolean) : [],
    repeats: v.repeats !== undefined ? int(v.repeats, '--repeats') : 5,
    slowMs: v['slow-ms'] !== undefined ? int(v['slow-ms'], '--slow-ms', 0) : 5000,
    slowRepeats: v['slow-repeats'] !== undefined ? int(v['slow-repeats'], '--slow-repeats') : 3,
    checkN: v['check-n'] !== undefined ? int(v['check-n'], '--check-n', 2) : 64,
    checkD: v['check-d'] !== undefined ? int(v['check-d'], '--check-d') : 32,
    probe: v['no-probe'] ? false : (v.probe ?? !quick),
    probeLosses: v['probe-loss'] !== undefined ? losses(v['probe-loss'], '--probe-loss', ALL_LOSSES) : ['dcl'],
    probeD: v['probe-d'] !== undefined ? int(v['probe-d'], '--probe-d') : 128,
    probeStart: v['probe-start'] !== undefined ? int(v['probe-start'], '--probe-start', 2) : 1024,
    probeBudgetS: v['probe-budget'] !== undefined ? int(v['probe-budget'], '--probe-budget') : 60,
    probeBudgetFusedS:
      v['probe-budget-fused'] !== undefined ? int(v['probe-budget-fused'], '--probe-budget-fused')
      : v['probe-budget'] !== undefined ? int(v['probe-budget'], '--probe-budget') : 60,
    probeMaxN: v['probe-max-n'] !== undefined ? int(v['probe-max-n'], '--probe-max-n', 2) : 1 << 20,
    fmaWorkgroups: v['fma-workgroups'] !== undefined ? int(v['fma-workgroups'], '--fma-workgroups') : 4096,
    fmaTargetMs: v['fma-target-ms'] !== undefined ? int(v['fma-target-ms'], '--fma-target-ms') : quick ? 50 : 200,
    outDir: v.out ?? 'bench/results',
    seed: v.seed !== undefined ? int(v.seed, '--seed', 0) : 1,
    bank: v.bank ?? false,
    bankLosses: v['bank-loss'] !== undefined ? losses(v['bank-loss'], '--bank-loss', BANK_LOSSES) : ['ntxent'],
    bankN: v['bank-n'] !== undefined ? int(v['bank-n'], '--bank-n') : 256,
    bankD: v['bank-d'] !== undefined ? int(v['bank-d'], '--bank-d') : 128,
    bankKs: v['bank-k'] !== undefined ? ints(v['bank-k'], '--bank-k') : [4096, 65536],
    bankCheckK: v['bank-check-k'] !== undefined ? int(v['bank-check-k'], '--bank-check-k') : 4096,
  };
}

/** How every case of a run is timed at (N, D). */
export function caseSpec(cfg: BenchConfig, n: number, d: number): CaseSpec {
  const { warmup, warmupMs, batchMs, repeats, slowMs, slowRepeats, seed } = cfg;
  return { n, d, warmup, warmupMs, batchMs, repeats, slowMs, slowRepeats, seed };
}
