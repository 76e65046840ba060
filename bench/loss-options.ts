/**
 * What each bench loss takes besides the two views, for a batch of N: the one place the fused
 * case, the tfjs case, the reference check, the workgroups plan and the JSON notes read
 * (bench/torch/losses.py `bench_labels` draws the same labels for the torch side). Imports only
 * types, so the page bundle can take it.
 *
 * - `supcon`: labels y_i = i mod C with C = max(2, ⌊N/8⌋) classes, so a class holds about 8
 *   samples (16 rows over both views) and the classes interleave through the batch (as a shuffled
 *   loader gives them); τ = τ_base = 0.07 (defaults).
 * - `siglip`, and every other loss: the defaults of docs/FORMULAS.md (siglip: τ 0.1, b −10).
 */
import type { BenchLoss } from './types.js';

/** Samples a SupCon class holds in the bench's batches (C = max(2, ⌊N / this⌋)). */
export const SUPCON_SAMPLES_PER_CLASS = 8;

/** The options of one bench loss at batch size N: the loss, and SupCon's labels. */
export interface BenchLossOptions {
  loss: BenchLoss;
  /** `supcon` only: N class labels (the same values on every path). */
  labels?: Int32Array;
}

/** SupCon's bench labels for N samples: i mod C, C = max(2, ⌊N/8⌋). */
export function benchLabels(n: number): Int32Array {
  const classes = Math.max(2, Math.floor(n / SUPCON_SAMPLES_PER_CLASS));
  return Int32Array.from({ length: n }, (_, i) => i % classes);
}

/** The options every path gets for `loss` at batch size N. */
export function benchLossOptions(loss: BenchLoss, n: number): BenchLossOptions {
  return loss === 'supcon' ? { loss, labels: benchLabels(n) } : { loss };
}

/** What the bench feeds the losses beyond the views, in words (the JSON's `loss_options`, the table's notes). */
export const LOSS_OPTION_NOTES: Readonly<Partial<Record<BenchLoss, string>>> = {
  supcon: `labels i mod C, C = max(2, ⌊N/${SUPCON_SAMPLES_PER_CLASS}⌋) classes (≈ ${SUPCON_SAMPLES_PER_CLASS} samples a class); τ = τ_base = 0.07 (defaults)`,
  siglip: 'defaults: τ 0.1, bias −10; one N×N direction (u1 rows against u2 rows)',
};

/** The notes of the losses in `losses` that take more than the defaults ({@link LOSS_OPTION_NOTES}). */
export function lossOptionNotes(losses: readonly BenchLoss[]): Partial<Record<BenchLoss, string>> {
  return Object.fromEntries(losses.filter((l) => LOSS_OPTION_NOTES[l]).map((l) => [l, LOSS_OPTION_NOTES[l]!]));
}
