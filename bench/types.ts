/**
 * What the benchmark page and the Node driver exchange, and what bench/results/<adapter>.json
 * holds. Shared by both sides, so it imports nothing.
 */

/** The losses with a bank (queue) form (kept local so the page bundle does not pull Node-only code). */
export type BankLoss = 'ntxent' | 'dcl' | 'dclw' | 'flatnce' | 'dualtemp';

/** The loss names: the bank-capable five and the third wave (labels, pairwise sigmoid; bench/loss-options.ts). */
export type BenchLoss = BankLoss | 'supcon' | 'siglip';

/** The programs timed: the fused kernels, tfjs ops under valueAndGrads, and tfjs's bare matMul. */
export type BenchPath = 'fused' | 'tfjs' | 'tfjs-matmul' | 'wgsl-gemm' | 'torch';

/**
 * How a case is timed: `latency` = one call and its read-back; `throughput` = R calls submitted
 * back to back with one wait, per-call time = total / R (a training loop keeping the GPU busy).
 */
export type BenchMode = 'latency' | 'throughput';

/** What the clock warm-up before a case did, and the timings it saw first and last (did they settle?). */
export interface WarmupEvidence {
  runs: number;
  ms_total: number;
  first_wall_ms: number[];
  last_wall_ms: number[];
  first_gpu_ms: (number | null)[];
  last_gpu_ms: (number | null)[];
}

/** Throughput-mode timings of one case: per-call ms of each batch of `calls` calls. */
export interface ThroughputTiming {
  calls: number;
  wallMs: number[];
  /** Per-call GPU ms of each batch (empty where the path or adapter gives none). */
  gpuMs: number[];
}

/** Where the benchmark runs: headless Chromium's WebGPU, or Dawn in Node (npm `webgpu`). */
export type BenchRuntime = 'chromium' | 'node';

/** The adapter every path runs on. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** Features of the adapter; `timestamp-query` decides whether GPU times are measured. */
  features: string[];
  /** Whether the device the paths share was created with `timestamp-query`. */
  timestampQuery: boolean;
  /** Limits that bound the batch size. */
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  /** Workgroups the fused dispatcher's tile passes aim for on this device (1: no split, a CPU adapter). */
  targetWorkgroups: number;
}

/** How one case is run. */
export interface CaseSpec {
  n: number;
  d: number;
  /** Untimed runs first, at least (pipeline compilation, buffer pools) ... */
  warmup: number;
  /** ... and at least this many ms of them back to back (GPU clocks ramp up under sustained work). */
  warmupMs: number;
  /** Throughput mode: aim for batches of calls lasting about this long (ms). */
  batchMs: number;
  /** Timed runs. */
  repeats: number;
  /** When the first timed run takes longer than this (ms), use {@link CaseSpec.slowRepeats} runs in all. */
  slowMs: number;
  slowRepeats: number;
  /** Seed of the inputs (drawn in the page). */
  seed: number;
}

/** Timings of one case, as measured in the page. */
export interface CaseTiming {
  /** Wall time per timed run, ms (submit → results read back). */
  wallMs: number[];
  /** GPU time per run, ms, from `timestamp-query`; null where unavailable. */
  gpuMs: number | null;
  /** Peak bytes of GPU buffers the path held (see bench/NOTES.md for what each path counts). */
  peakBytes: number;
  /** For the fused path: the dispatcher's own peak (workspace + constants) — part of peakBytes. */
  peakBytesDispatcher?: number;
  /** For the tfjs paths: the most bytes tfjs's buffer pool had allocated (used + free for reuse). */
  poolBytes?: number;
  /** The loss value of the last run (a sanity check: finite). */
  value: number;
  warmup: WarmupEvidence;
  /** Throughput mode, for the paths that offer it (fused, tfjs). */
  throughput?: ThroughputTiming;
}

/** The measured part of a results row (the sweep's and the bank form's), from one {@link CaseTiming}. */
export interface RowTiming {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  /** Timed runs behind median/min/max. */
  runs: number;
  /** Median GPU time (timestamp queries), ms; null where the adapter or the path gives none. */
  gpu_ms: number | null;
  /**
   * GFLOP/s at the median GPU time where measured, else the median wall time: 6·(2N)²·D flops
   * for a loss forward+backward (6·N²·D for siglip, one N×N direction), 2·(2N)²·D for the bare
   * matMul row, a nominal 6·N·K·D for the bank form.
   */
  gflops: number;
  /** Peak bytes of GPU memory the path held; null where unknown (torch on the CPU). */
  peak_bytes: number | null;
  peak_bytes_dispatcher?: number;
  pool_bytes?: number;
  /** Latency or throughput (see {@link BenchMode}); median/min/max and gpu_ms are per call. */
  mode: BenchMode;
  /** Median wall ms per call (= median_ms; named beside gpu_ms). */
  wall_ms: number;
  /** Calls per submitted batch (1 in latency mode). */
  calls_per_batch: number;
  warmup: WarmupEvidence;
}

/** One row of the results table. */
export interface ResultRow extends RowTiming {
  /** The loss, or `matmul` for the U·Uᵀ rows (tfjs matMul and the WGSL GEMM). */
  loss: BenchLoss | 'matmul';
  n: number;
  d: number;
  path: BenchPath;
  /** Fused rows: workgroups each pass dispatches per call (kernel name → Σ grid x·y·z, from src/plan.ts). */
  workgroups?: Record<string, number>;
  /** Torch rows: fp32 (TF32 off), tf32 or compile. */
  variant?: string;
}

/** One path's largest batch. */
export interface MaxBatchRow {
  path: BenchPath;
  loss: BenchLoss;
  d: number;
  /** Largest N that completed (null if even the first size failed). */
  max_n: number | null;
  /** Seconds the run at max_n took. */
  max_n_seconds: number | null;
  /** What stopped the doubling. */
  stopped_by: string;
}

/** One correctness check of a path against the float64 CPU reference. */
export interface CheckRow {
  loss: BenchLoss;
  path: 'fused' | 'tfjs';
  n: number;
  d: number;
  loss_rel_err: number;
  grad_rel_l2: number;
  ok: boolean;
  /** Why the path gave no values (it threw, e.g. a path that does not take the loss); the errors are NaN (null in the JSON) then. */
  error?: string;
}

/** The FMA microkernel's measurement. */
export interface FmaPeak {
  gflops: number;
  /** Total flops of the timed dispatch (2 per FMA). */
  flops: number;
  /** Kernel time used for gflops, ms (GPU time where available, else wall). */
  ms: number;
  timing: 'gpu' | 'wall';
  workgroups: number;
  iterations: number;
}

/** bench/results/<adapter-slug>.json */
export interface ResultsFile {
  adapter: AdapterSummary & { slug: string };
  date: string;
  /** Chromium's version string, or Node's and Dawn's for the node runtime. */
  browser: string;
  /** Where it ran. */
  runtime: BenchRuntime;
  /** The flags the run was started with. */
  argv: string[];
  fma_gflops: number | null;
  fma: FmaPeak | null;
  checks: CheckRow[];
  /** What the losses that take more than the defaults were fed (supcon's labels), per loss. */
  loss_options: Partial<Record<BenchLoss, string>>;
  rows: ResultRow[];
  max_batch: MaxBatchRow[];
  /** Cases that threw instead of producing a row. */
  errors: { loss: string; n: number; d: number; path: BenchPath; error: string }[];
  /** What the PyTorch side did: its version and device, or plainly why it did not run. */
  torch: string;
}

/** One bank-form case (`--bank`): N anchors of D against a bank of K rows. */
export interface BankCaseSpec extends CaseSpec {
  /** Bank rows K. */
  k: number;
}

/** One row of the bank-form table: the fused kernels or tfjsOpsLoss, forward+backward. */
export interface BankRow extends RowTiming {
  loss: BenchLoss;
  n: number;
  d: number;
  k: number;
  path: 'fused' | 'tfjs' | 'torch';
  /** Torch rows: fp32 (TF32 off), tf32 or compile. */
  variant?: string;
  /** Fused rows: workgroups each pass dispatches per call (kernel name → Σ grid x·y·z, from src/plan.ts). */
  workgroups?: Record<string, number>;
}

/** A bank-form check against the float64 reference, at K = `k`. */
export interface BankCheckRow extends CheckRow {
  k: number;
}

/** bench/results/<adapter-slug>[-node]-bank.json */
export interface BankResultsFile {
  adapter: AdapterSummary & { slug: string };
  date: string;
  browser: string;
  runtime: BenchRuntime;
  argv: string[];
  checks: BankCheckRow[];
  rows: BankRow[];
  errors: { loss: string; n: number; d: number; k?: number; path: 'fused' | 'tfjs' | 'torch'; error: string }[];
  /** What the PyTorch side did: its version and device, or plainly why it did not run. */
  torch: string;
}
