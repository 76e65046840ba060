/**
 * Before anything is timed, both paths are checked against the float64 CPU reference at a small
 * shape: the loss within 1e-4 relative and the gradients (z1 and z2 together) within 1e-3
 * relative L2. Only a path that passes for a loss is timed for it, so two correct programs are
 * compared.
 */
import { referenceLoss } from '../src/reference/index.js';
import { benchLossOptions } from './loss-options.js';
import { benchViews } from './random.js';
import type { BenchPage } from './session.js';
import type { BenchLoss, CheckRow } from './types.js';

export const LOSS_REL_TOL = 1e-4;
export const GRAD_REL_L2_TOL = 1e-3;

/** ‖got − want‖₂ / ‖want‖₂ over z1 and z2 together. */
export function relL2(got: [Float32Array, Float32Array], want: [Float64Array, Float64Array]): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < 2; k++) {
    const g = got[k]!;
    const w = want[k]!;
    for (let i = 0; i < w.length; i++) {
      num += (g[i]! - w[i]!) ** 2;
      den += w[i]! ** 2;
    }
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Check both paths for each loss (with its bench options, bench/loss-options.ts); returns one row per (loss, path). */
export async function checkAgainstReference(page: BenchPage, losses: BenchLoss[], n: number, d: number, seed: number): Promise<CheckRow[]> {
  const { z1, z2 } = benchViews(n, d, seed);
  const rows: CheckRow[] = [];
  for (const loss of losses) {
    const ref = referenceLoss(z1, z2, n, d, benchLossOptions(loss, n));
    const got = await page.call('runBothPaths', z1, z2, n, d, loss);
    for (const path of ['fused', 'tfjs'] as const) {
      const v = got[path];
      if ('error' in v) {
        rows.push({ loss, path, n, d, loss_rel_err: NaN, grad_rel_l2: NaN, ok: false, error: v.error });
        continue;
      }
      const lossRel = Math.abs(v.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-30);
      const gradRel = relL2([v.gradZ1, v.gradZ2], [ref.gradZ1, ref.gradZ2]);
      const ok = Number.isFinite(v.loss) && lossRel <= LOSS_REL_TOL && gradRel <= GRAD_REL_L2_TOL;
      rows.push({ loss, path, n, d, loss_rel_err: lossRel, grad_rel_l2: gradRel, ok });
    }
  }
  return rows;
}
