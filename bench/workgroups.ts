/**
 * The workgroups each pass of a fused call dispatches, from the dispatcher's own plan (src/plan.ts):
 * pass (kernel) name → Σ grid x·y over its dispatches. Read generically from `plan.passes`, so new
 * passes (a split candidate axis's merge and reduce passes) appear without a change here.
 */
import { resolveOptions, type LossOptions } from '../src/options.js';
import { planLoss } from '../src/plan.js';

export function planWorkgroups(n: number, d: number, options: LossOptions, backward = true): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pass of planLoss(n, d, resolveOptions(options, d), backward).passes) {
    out[pass.kernel] = (out[pass.kernel] ?? 0) + pass.grid[0] * pass.grid[1];
  }
  return out;
}
