/** Clock warm-up, then the timed repeats of one case in latency and (where a path offers it) throughput mode. */
import { summarize } from '../stats.js';
import type { CaseSpec, ThroughputTiming, WarmupEvidence } from '../types.js';

/** What one run of a case reports. */
export interface RunSample {
  /** Wall ms, submit → results read back. */
  wallMs: number;
  /** GPU ms from timestamp queries, or null. */
  gpuMs: number | null;
  /** The loss value read back. */
  value: number;
}

/** What the repeats produced. */
export interface RepeatResult {
  /** Latency mode: one call and its read-back, per timed run. */
  wallMs: number[];
  gpuMs: number[];
  value: number;
  warmup: WarmupEvidence;
  /** Throughput mode, when the path gave a `batch`. */
  throughput?: ThroughputTiming;
}

/** How many of the first and last warm-up runs the evidence keeps. */
const EVIDENCE = 3;


/**
 * Warm-up: `once` repeated back to back until at least `spec.warmup` runs and `spec.warmupMs` ms
 * have passed. A GPU idles at a low clock and ramps up only under sustained work (an H200: 345 →
 * 1980 MHz, back down within ~200 ms of idleness), so a case timed after one short warm-up run
 * reads the idle clock; the first and last warm-up timings are kept as evidence.
 * `afterWarmup` runs next (e.g. to restart peak-memory accounting).
 *
 * Latency mode: `spec.repeats` runs of `once` (one call with its read-back), cut to
 * `spec.slowRepeats` when the first took longer than `spec.slowMs`.
 *
 * Throughput mode (when `batch` is given): `batch(r)` encodes and submits r calls back to back
 * and waits once, as a training loop that keeps the GPU busy sees it; r is chosen so a batch lasts
 * about `spec.batchMs` (by the latency median, 1 ≤ r ≤ 256, as bench/torch does); per-call times = batch times / r,
 * over as many batches as latency runs. Every value read back must be finite.
 */
export async function repeatCase(
  spec: CaseSpec,
  once: () => Promise<RunSample>,
  afterWarmup?: () => void,
  batch?: (calls: number) => Promise<RunSample>,
): Promise<RepeatResult> {
  const check = (s: RunSample) => {
    if (!Number.isFinite(s.value)) throw new Error(`the loss read back is ${s.value}`);
    return s;
  };
  const warm: RunSample[] = [];
  const t0 = performance.now();
  while (warm.length < spec.warmup || performance.now() - t0 < spec.warmupMs) warm.push(check(await once()));
  const warmup: WarmupEvidence = {
    runs: warm.length,
    ms_total: performance.now() - t0,
    first_wall_ms: warm.slice(0, EVIDENCE).map((s) => s.wallMs),
    last_wall_ms: warm.slice(-EVIDENCE).map((s) => s.wallMs),
    first_gpu_ms: warm.slice(0, EVIDENCE).map((s) => s.gpuMs),
    last_gpu_ms: warm.slice(-EVIDENCE).map((s) => s.gpuMs),
  };
  afterWarmup?.();
  let repeats = spec.repeats;
  const wallMs: number[] = [];
  const gpuMs: number[] = [];
  let value = NaN;
  for (let i = 0; i < repeats; i++) {
    const s = check(await once());
    if (i === 0 && s.wallMs > spec.slowMs) repeats = Math.min(repeats, spec.slowRepeats);
    wallMs.push(s.wallMs);
    if (s.gpuMs !== null) gpuMs.push(s.gpuMs);
    value = s.value;
  }
  if (!batch) return { wallMs, gpuMs, value, warmup };
  const calls = Math.max(1, Math.min(256, Math.round(spec.batchMs / Math.max(summarize(wallMs).median, 1e-3))));
  const throughput: ThroughputTiming = { calls, wallMs: [], gpuMs: [] };
  for (let i = 0; i < repeats; i++) {
    const s = check(await batch(calls));
    throughput.wallMs.push(s.wallMs / calls);
    if (s.gpuMs !== null) throughput.gpuMs.push(s.gpuMs / calls);
  }
  return { wallMs, gpuMs, value, warmup, throughput };
}
