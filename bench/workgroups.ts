/**
 * The workgroups each pass of a fused call dispatches, from the dispatcher's own plan (src/plan.ts):
 * pass (kernel) name → Σ workgroups (grid x·y·z) over its dispatches, for the split the bench's
 * dispatcher uses (`targetWorkgroups`: 1024 on a GPU, 1 — no split — on a CPU adapter). Read
 * generically from `plan.passes`, so new passes appear without a change here.
 */
import { resolveOptions } from '../src/internal.js';
import type { LossOptions } from '../src/options.js';
import { planLoss } from '../src/plan.js';

export function planWorkgroups(n: number, d: number, options: LossOptions, targetWorkgroups: number, backward = true): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pass of planLoss(n, d, resolveOptions(options, d), backward, targetWorkgroups).passes) {
    out[pass.kernel] = (out[pass.kernel] ?? 0) + pass.workgroups;
  }
  return out;
}
