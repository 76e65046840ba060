/** Warm-up and timed repeats of one case, the same for every path. */
import type { CaseSpec } from '../types.js';

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
  wallMs: number[];
  gpuMs: number[];
  value: number;
}

/**
 * Run `spec.warmup` untimed runs (pipeline compilation, buffer pools), then the timed ones:
 * `spec.repeats`, cut to `spec.slowRepeats` when the first timed run took longer than
 * `spec.slowMs`. `afterWarmup` runs in between (e.g. to restart peak-memory accounting). Every
 * value read back must be finite.
 */
export async function repeatCase(spec: CaseSpec, once: () => Promise<RunSample>, afterWarmup?: () => void): Promise<RepeatResult> {
  const check = (s: RunSample) => {
    if (!Number.isFinite(s.value)) throw new Error(`the loss read back is ${s.value}`);
    return s;
  };
  for (let i = 0; i < spec.warmup; i++) check(await once());
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
  return { wallMs, gpuMs, value };
}
