/**
 * What every loss of docs/FORMULAS.md reduces to once its similarities are known: per-anchor statistics
 * (`lse_a`, `s⁺_a` and the softmax mean of the candidates' logits), the coefficients `c_a`, `β_a`
 * of the one backward rule, and the two scalars built from them alone — `∂L/∂τ` and the
 * positive's probability. Shared by the in-batch losses, the dual temperature loss and the bank
 * form, whose anchor sets differ (2N or N anchors) but whose algebra does not.
 */

import { sigmoid } from './numerics.js';

/** Per-anchor forward statistics. Anchor `a` has the positive logit `sPos[a mod N]`. */
export interface AnchorStats {
  /** `lse_a = log Σ_{b∈neg(a)} exp(S_ab)`, one per anchor (2N in-batch, N in bank form). */
  lse: Float64Array;
  /** `s⁺_i = u1_i·u2_i/τ`, length N. */
  sPos: Float64Array;
  /** `Σ_{b∈neg(a)} softmax_a(b) · S_ab`: the candidates' mean logit under the anchor's softmax. */
  expectedS: Float64Array;
}

/** Per-anchor loss values and the two coefficients of the backward rule. */
export interface AnchorTerms {
  /** `ℓ_a`, one per anchor (for `flatnce` the NT-Xent value). */
  perAnchor: Float64Array;
  /** `c_a = ∂ℓ_a/∂lse_a` of the loss whose gradient is reported. */
  c: Float64Array;
  /** `β_a = −∂ℓ_a/∂s⁺_a` of the loss whose gradient is reported. */
  beta: Float64Array;
}

/**
 * `∂L/∂τ` for `L = mean_a ℓ_a(lse_a, s⁺_a)` with every logit `S = C/τ` (docs/FORMULAS.md "Temperature
 * gradient"): `∂S/∂τ = −S/τ`, so `∂lse_a/∂τ = −expectedS_a/τ` and
 *
 *     ∂L/∂τ = −(1/(Aτ)) Σ_a [ c_a · expectedS_a − β_a · s⁺_a ],     A = the number of anchors,
 *
 * through the same detachments as `c`, `β` (DCLW's weights do not depend on τ at all; the
 * dual-temperature factor, whose c = β = 1 − Q, is held fixed).
 */
export function temperatureGradient(stats: AnchorStats, c: Float64Array, beta: Float64Array, temperature: number): number {
  const anchors = stats.lse.length;
  const n = stats.sPos.length;
  let s = 0;
  for (let a = 0; a < anchors; a++) s += c[a] * stats.expectedS[a] - beta[a] * stats.sPos[a % n];
  return -s / (anchors * temperature);
}

/**
 * `mean_a σ(s⁺_a − lse_a)` (the positive's softmax probability among it and the candidates) and
 * `mean_a σ(lse_a − s⁺_a)` (its complement, the NPC multiplier), each summed directly so that
 * neither loses digits when the other is near 1.
 */
export function positiveProbabilities(stats: AnchorStats): { positiveProbability: number; npcMultiplier: number } {
  const anchors = stats.lse.length;
  const n = stats.sPos.length;
  let p = 0;
  let q = 0;
  for (let a = 0; a < anchors; a++) {
    const margin = stats.lse[a] - stats.sPos[a % n];
    p += sigmoid(-margin);
    q += sigmoid(margin);
  }
  return { positiveProbability: p / anchors, npcMultiplier: q / anchors };
}
