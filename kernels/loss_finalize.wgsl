// loss_finalize.wgsl — per-anchor losses, the mean loss, the backward coefficients, and (when
// asked) ∂L/∂τ, ∂L/∂b and the diagnostics. Prepended with stable_math.wgsl (softplus, sigmoid).
//
// Math (docs/FORMULAS.md), with s⁺_a = pair[a mod N].x/τ, lse_a = stats[a].x + 1/τ (anchor_stats keeps the
// excess over 1/τ) and x_a = lse_a − s⁺_a = stats[a].x − (pair.x − 1)/τ, taken in that order so the
// terms of size 1/τ cancel exactly:
//   ntxent   ℓ = softplus(x)              c = β = sigmoid(x)
//   dcl      ℓ = x                        c = β = 1
//   flatnce  ℓ = softplus(x) (reported)   c = β = 1   (FlatNCE's gradient is DCL's)
//   dclw     ℓ = lse − w_i s⁺ = x + (1 − w_i) s⁺, i = a mod N, w_i = 2 − N·softmax(pair.x/σ)_i
//            c = 1, β = w_i; weight_grad adds ∂L/∂r_j = π_j (s_j − Σ_i π_i s_i) through r
//   dualtemp ℓ = f_a·(−log P), f = α/(1 − P) detached, α = 1 − Q. With x = lse − s⁺:
//            −log P = softplus(x), 1 − P = exp(lse − lse_all) = sigmoid(x), likewise
//            α = sigmoid(stats[a].y − s⁺/m) at τ·m, so ℓ = α·softplus(x)/sigmoid(x); c = β = α
//   L = (1/A) Σ_{a<A} ℓ_a over the A anchors: 2N, or the N rows of u1 in bank form.
// The third wave (docs/FORMULAS.md) has its own short paths, supcon_finalize and siglip_finalize below:
//   supcon   stats[a] = (lse_a − 1/τ, mean_{b∈P(a)} S_ab − 1/τ, Σ_{b≠a} π_ab S_ab, |P(a)|), κ = τ/τ_base:
//            ℓ_a = κ·(stats.x − stats.y) (reported per anchor scaled, so L is their mean);
//            coefs[a] = (scale·κ, scale·κ/|P(a)|) for grad_rows' π and ρ terms (no positive-pair term);
//            ∂L/∂τ = L/τ − κ/(2Nτ) Σ_a (E_a − mean_{P(a)} S)
//   siglip   stats[i] = (Σ_j softplus(−z_ij l_ij), Σ_j g_ij, Σ_j g_ij (l_ij − b), 0) for the N rows
//            of u1, g_ij = −z_ij σ(−z_ij l_ij): ℓ_i = stats.x, L = (1/N) Σ_i ℓ_i;
//            coefs[a] = (upstream/(Nτ), 0) for all 2N rows (grad_rows forms g per pair itself);
//            ∂L/∂τ = −(1/(Nτ)) Σ_i stats.z, ∂L/∂b = (1/N) Σ_i stats.y   (BIAS_GRADIENT)
// Backward coefficients, scale = upstream[0] / (A·τ), written for all 2N rows of U:
//   coefs[a].x = scale · c_a                       (0 for a ≥ A)
//   coefs[a].y = −scale · (β_a [a<A] + β_p(a) [p(a)<A]) + upstream[0] · ∂L/∂r_{a mod N} / σ (dclw weight_grad)
// TAU_GRADIENT: grad_tau = upstream[0] · ∂L/∂τ = −upstream[0]/(A·τ) · Σ_{a<A} (c_a E_a − β_a s⁺_a),
//   E_a = stats[a].z = Σ_{b∈neg(a)} softmax_a(b)·S_ab (anchor_stats, SOFTMAX_MEAN).
// DIAGNOSTICS: diagnostics = [alignment, uniformity, positiveProbability, npcMultiplier]:
//   alignment   = (1/N) Σ_i pair[i].y = mean ‖u1_i − u2_i‖²
//   uniformity  = ½ Σ_views [ log Σ_{i in view} exp(stats[i].w) − log(N(N−1)) ]   (NaN for N = 1)
//   positiveProbability = (1/A) Σ_{a<A} sigmoid(−x_a);  npcMultiplier = (1/A) Σ_{a<A} sigmoid(x_a)
//   (summed as written, not as 1 − positiveProbability, which loses the small values).
// GPU-read parameters: when 1/τ is ≤ 0 or not finite, 1/(τ·m) is not finite, or b is not finite
// (possible only with temperatureParams/biasParams, which no CPU check sees), loss, per_anchor,
// coefs (hence the gradients), grad_tau and ∂L/∂b are NaN.
//
// Bindings (group 0):
//   0 uniform     params      : FinalParams
//   1 storage r   stats       : array<vec4<f32>>  2N (anchor_stats: lse, lse2, E, uniformity lse)
//   2 storage r   pair        : array<vec2<f32>>  N (normalize_rows: u1_i·u2_i, ‖u1_i − u2_i‖²)
//   3 storage r   upstream    : array<f32>        1, ∂out/∂L (chain rule from the caller)
//   4 storage rw  loss        : array<f32>        1
//   5 storage rw  per_anchor  : array<f32>        A
//   6 storage rw  coefs       : array<vec2<f32>>  2N, (coef_c, pos_coef) for grad_rows
//   7 storage rw  grad_tau    : array<f32>        1 (written only with TAU_GRADIENT)
//   8 storage rw  diagnostics : array<f32>        4 (written only with DIAGNOSTICS); for siglip, which has
//                                                 no diagnostics, ∂L/∂b in [0] (only with BIAS_GRADIENT):
//                                                 a stage may bind at most 8 storage buffers
//
// One workgroup of 256 threads; fixed-order strided sums and tree reductions: deterministic.

struct FinalParams {
  n: u32,
  anchors: u32,     // A: 2N, or N in bank form
  loss_kind: u32,   // 0 ntxent, 1 dcl, 2 dclw, 3 flatnce, 4 dualtemp, 5 supcon, 6 siglip
  weight_grad: u32, // dclw: 1 = gradient flows through w
  flags: u32,       // TAU_GRADIENT | DIAGNOSTICS | BIAS_GRADIENT
  nan_bits: u32,    // 0x7fc00000, a quiet NaN (WGSL rejects NaN constants, so it comes at run time)
  bias: f32,        // siglip's b (0 for the others): only checked here, see outputs_poisoned
  pad2: u32,
  inv_tau: f32,
  inv_tau2: f32,
  inv_sigma: f32,
  inv_base_tau: f32, // supcon: 1/τ_base (κ = τ/τ_base = inv_base_tau / inv_tau, so a GPU τ works too)
}

@group(0) @binding(0) var<uniform> params: FinalParams;
@group(0) @binding(1) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> pair: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> upstream: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> per_anchor: array<f32>;
@group(0) @binding(6) var<storage, read_write> coefs: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> grad_tau: array<f32>;
@group(0) @binding(8) var<storage, read_write> diagnostics: array<f32>;

const WG: u32 = 256u;
const NTXENT: u32 = 0u;
const DCL: u32 = 1u;
const DCLW: u32 = 2u;
const FLATNCE: u32 = 3u;
const DUALTEMP: u32 = 4u;
const SUPCON: u32 = 5u;
const SIGLIP: u32 = 6u;
const TAU_GRADIENT: u32 = 1u;
const DIAGNOSTICS: u32 = 2u;
const BIAS_GRADIENT: u32 = 4u;
const NEG_BIG: f32 = -3.0e38;

// τ and b may be copied in on the GPU (temperatureParams, biasParams), past every CPU check: a
// 1/τ that is ≤ 0 or not finite, or a b that is not finite, makes every output NaN, never a
// plausible value. Tested on the bits: WGSL lets a compiler assume floats are finite, so NaN
// comparisons may fold away. Set once at the start of main.
var<private> outputs_poisoned: bool;

fn non_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u; }

fn gpu_params_invalid() -> bool {
  let t = bitcast<u32>(params.inv_tau);
  let not_positive = (t & 0x80000000u) != 0u || t == 0u;
  return not_positive || non_finite(params.inv_tau) || non_finite(params.inv_tau2) || non_finite(params.bias);
}

// x, or NaN when the GPU-read parameters are invalid.
fn checked(x: f32) -> f32 { return select(x, bitcast<f32>(params.nan_bits), outputs_poisoned); }
fn checked2(v: vec2<f32>) -> vec2<f32> { return vec2<f32>(checked(v.x), checked(v.y)); }

var<workgroup> red_a: array<vec4<f32>, WG>;
var<workgroup> red_b: array<vec4<f32>, WG>;
// Batch statistics, valid after their reductions. DCLW softmax of r: max, Σ exp(r − max),
// Σ exp(r − max)·s. Uniformity: per-view max and Σ exp(· − max) of stats.w; alignment's sum.
var<workgroup> r_max: f32;
var<workgroup> r_sum: f32;
var<workgroup> rs_sum: f32;
var<workgroup> view_max: vec2<f32>;
var<workgroup> view_sum: vec2<f32>;
var<workgroup> align_sum: f32;

// softplus(x) / sigmoid(x) = (1 + t)·log1p(t)/t with t = e^x for x < 0; finite for every x.
fn softplus_over_sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return softplus(x) * (1.0 + exp(-x)); }
  // Below x = −20 (t < 2.1e-9) the ratio is 1 + t/2 to within t²/6 < 1e-17; computing it there
  // would take t and log1p(t) into the subnormal range (x < −87), where a device that flushes
  // subnormals returns 0/t or t/0 (seen on SwiftShader: ℓ = 0 for a dominant positive at τ = 0.01).
  if (x < -20.0) { return 1.0 + 0.5 * exp(x); }
  let t = exp(x);
  return (1.0 + t) * log1p_safe(t) / t;
}

fn positive_of(a: u32) -> u32 {
  return select(a + params.n, a - params.n, a >= params.n);
}
fn cos_pos(a: u32) -> f32 { return pair[a % params.n].x; }
// x_a = lse_a − s⁺_a from the stored excess: (cos − 1)/τ is exact-ish where cos is near 1.
fn lse_minus_pos(a: u32) -> f32 { return stats[a].x - (cos_pos(a) - 1.0) * params.inv_tau; }

// DCLW weight w_i and softmax π_i (valid after the softmax reduction).
fn pi_of(i: u32) -> f32 { return exp(pair[i].x * params.inv_sigma - r_max) / r_sum; }
fn weight_of(i: u32) -> f32 { return 2.0 - f32(params.n) * pi_of(i); }

// (ℓ_a, c_a, β_a) for one anchor a < A.
fn anchor_terms(a: u32) -> vec3<f32> {
  let s_pos = cos_pos(a) * params.inv_tau;
  let x = lse_minus_pos(a);
  switch params.loss_kind {
    case NTXENT: { let g = sigmoid(x); return vec3<f32>(softplus(x), g, g); }
    case DCL: { return vec3<f32>(x, 1.0, 1.0); }
    case FLATNCE: { return vec3<f32>(softplus(x), 1.0, 1.0); }
    case DCLW: {
      let w = weight_of(a % params.n);
      return vec3<f32>(x + (1.0 - w) * s_pos, 1.0, w);
    }
    default: { // DUALTEMP
      // −log P = softplus(x) and 1 − P = sigmoid(x) (= exp(lse − lse_all), no subtraction);
      // their ratio is taken in one stable piece since both underflow together when x ≪ 0.
      let alpha = sigmoid(stats[a].y - cos_pos(a) * params.inv_tau2);
      return vec3<f32>(alpha * softplus_over_sigmoid(x), alpha, alpha);
    }
  }
}

// Tree reductions of red_a and red_b (componentwise) into element 0; uniform control flow.
fn reduce_sum(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red_a[lid] += red_a[lid + stride];
      red_b[lid] += red_b[lid + stride];
    }
    workgroupBarrier();
  }
}
fn reduce_max(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { red_a[lid] = max(red_a[lid], red_a[lid + stride]); }
    workgroupBarrier();
  }
}

// Statistics over the batch that the per-anchor loop needs or reports: DCLW's softmax of r and
// the diagnostics' uniformity and alignment sums. Uniform control flow.
fn batch_statistics(lid: u32, dclw: bool, diag: bool) {
  let n = params.n;
  var m = vec4<f32>(NEG_BIG);
  for (var i = lid; i < n; i += WG) {
    if (dclw) { m.x = max(m.x, pair[i].x * params.inv_sigma); }
    if (diag) { m.y = max(m.y, stats[i].w); m.z = max(m.z, stats[i + n].w); }
  }
  red_a[lid] = m;
  workgroupBarrier();
  reduce_max(lid);
  if (lid == 0u) {
    r_max = red_a[0].x;
    view_max = red_a[0].yz;
  }
  workgroupBarrier();
  var se = vec4<f32>(0.0);
  var align = 0.0;
  for (var i = lid; i < n; i += WG) {
    if (dclw) {
      let e = exp(pair[i].x * params.inv_sigma - r_max);
      se.x += e;
      se.y += e * pair[i].x * params.inv_tau;
    }
    if (diag) {
      se.z += exp(stats[i].w - view_max.x);
      se.w += exp(stats[i + n].w - view_max.y);
      align += pair[i].y;
    }
  }
  red_a[lid] = se;
  red_b[lid] = vec4<f32>(align, 0.0, 0.0, 0.0);
  workgroupBarrier();
  reduce_sum(lid);
  if (lid == 0u) {
    r_sum = red_a[0].x;
    rs_sum = red_a[0].y;
    view_sum = red_a[0].zw;
    align_sum = red_b[0].x;
  }
  workgroupBarrier();
}

// Σ over the workgroup of every thread's `acc` (red_a's tree), valid in every thread. Uniform control flow.
fn workgroup_total(lid: u32, acc: vec4<f32>) -> vec4<f32> {
  red_a[lid] = acc;
  red_b[lid] = vec4<f32>(0.0);
  workgroupBarrier();
  reduce_sum(lid);
  return red_a[0];
}

// SupCon (docs/FORMULAS.md "SupCon and SigLIP"): 2N anchors, stats from anchor_stats_merge (header). Uniform control flow.
fn supcon_finalize(lid: u32) {
  let n = params.n;
  let up = upstream[0];
  let kappa = params.inv_base_tau / params.inv_tau;
  let scale = up * params.inv_tau * kappa / f32(2u * n);
  var acc = vec4<f32>(0.0); // Σ κℓ_a, Σ (E_a − mean_{P(a)} S)
  for (var a = lid; a < 2u * n; a += WG) {
    let s = stats[a];
    // lse_a and the positives' mean logit are both stored as excesses over 1/τ: no 1/τ-sized terms.
    let l = kappa * (s.x - s.y);
    per_anchor[a] = checked(l);
    coefs[a] = checked2(vec2<f32>(scale, scale / s.w));
    acc += vec4<f32>(l, (s.z - params.inv_tau) - s.y, 0.0, 0.0);
  }
  let total = workgroup_total(lid, acc);
  if (lid == 0u) {
    let count = f32(2u * n);
    loss[0] = checked(total.x / count);
    if ((params.flags & TAU_GRADIENT) != 0u) { grad_tau[0] = checked(up * params.inv_tau * (total.x - kappa * total.y) / count); }
  }
}

// SigLIP (docs/FORMULAS.md "SupCon and SigLIP"): the N rows of u1 hold the per-row sums (header). Uniform control flow.
fn siglip_finalize(lid: u32) {
  let n = params.n;
  let up = upstream[0];
  let coef = up * params.inv_tau / f32(n);
  var acc = vec4<f32>(0.0); // Σ ℓ_i, Σ g, Σ g·(l − b)
  for (var a = lid; a < 2u * n; a += WG) {
    if (a < n) {
      let s = stats[a];
      per_anchor[a] = checked(s.x);
      acc += vec4<f32>(s.x, s.y, s.z, 0.0);
    }
    coefs[a] = checked2(vec2<f32>(coef, 0.0));
  }
  let total = workgroup_total(lid, acc);
  if (lid == 0u) {
    loss[0] = checked(total.x / f32(n));
    if ((params.flags & TAU_GRADIENT) != 0u) { grad_tau[0] = checked(-up * params.inv_tau * total.z / f32(n)); }
    if ((params.flags & BIAS_GRADIENT) != 0u) { diagnostics[0] = checked(up * total.y / f32(n)); } // ∂L/∂b (header)
  }
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  outputs_poisoned = gpu_params_invalid();
  if (params.loss_kind == SUPCON) { supcon_finalize(lid); return; }
  if (params.loss_kind == SIGLIP) { siglip_finalize(lid); return; }
  let n = params.n;
  let anchors = params.anchors;
  let up = upstream[0];
  let dclw = params.loss_kind == DCLW;
  let diag = (params.flags & DIAGNOSTICS) != 0u;
  if (dclw || diag) { batch_statistics(lid, dclw, diag); }

  let scale = up * params.inv_tau / f32(anchors);
  // Per thread: Σ ℓ, Σ (c·E − β·s⁺), Σ sigmoid(−x), Σ sigmoid(x) over its anchors.
  var acc = vec4<f32>(0.0);
  for (var a = lid; a < 2u * n; a += WG) {
    var cc = 0.0;
    var pc = 0.0;
    if (a < anchors) {
      let t = anchor_terms(a);
      per_anchor[a] = checked(t.x);
      cc = scale * t.y;
      pc = -scale * t.z;
      let s_pos = cos_pos(a) * params.inv_tau;
      let x = lse_minus_pos(a);
      acc += vec4<f32>(t.x, t.y * stats[a].z - t.z * s_pos, sigmoid(-x), sigmoid(x));
    }
    let p = positive_of(a);
    if (p < anchors) { pc -= scale * anchor_terms(p).z; }
    if (dclw && params.weight_grad == 1u) {
      let j = a % n;
      let s_bar = rs_sum / r_sum;
      pc += up * pi_of(j) * (pair[j].x * params.inv_tau - s_bar) * params.inv_sigma;
    }
    coefs[a] = checked2(vec2<f32>(cc, pc));
  }
  workgroupBarrier();
  red_a[lid] = acc;
  red_b[lid] = vec4<f32>(0.0);
  workgroupBarrier();
  reduce_sum(lid);
  if (lid == 0u) {
    let total = red_a[0];
    let count = f32(anchors);
    loss[0] = checked(total.x / count);
    if ((params.flags & TAU_GRADIENT) != 0u) { grad_tau[0] = checked(-up * params.inv_tau * total.y / count); }
    if (diag) {
      // log(N(N−1)) as two logs: N² overflows nothing in f32, but this keeps full precision.
      let log_pairs = log(f32(n)) + log(f32(n - 1u));
      var uniformity = 0.5 * (view_max.x + log(view_sum.x) + view_max.y + log(view_sum.y)) - log_pairs;
      if (n < 2u) { uniformity = bitcast<f32>(params.nan_bits); } // N = 1: no pairs, 0/0
      diagnostics[0] = align_sum / f32(n);
      diagnostics[1] = uniformity;
      diagnostics[2] = total.z / count;
      diagnostics[3] = total.w / count;
    }
  }
}
