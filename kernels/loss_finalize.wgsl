// loss_finalize.wgsl — per-anchor losses, the mean loss, and the backward coefficients.
//
// Math (MATH.md), with s⁺_a = cos_pos[a]/τ and x_a = lse_a − s⁺_a:
//   ntxent   ℓ = softplus(x)              c = β = sigmoid(x)
//   dcl      ℓ = x                        c = β = 1
//   flatnce  ℓ = softplus(x) (reported)   c = β = 1   (FlatNCE's gradient is DCL's)
//   dclw     ℓ = lse − w_i s⁺, i = a mod N, w_i = 2 − N·softmax(cos_pos/σ)_i
//            c = 1, β = w_i; weight_grad adds ∂L/∂r_j = π_j (s_j − Σ_i π_i s_i) through r
//   dualtemp ℓ = f_a·(−log P), f = α/(1 − P) detached, α = 1 − Q. With x = lse − s⁺:
//            −log P = softplus(x), 1 − P = exp(lse − lse_all) = sigmoid(x), likewise
//            α = sigmoid(lse2 − s⁺/m) at τ·m, so ℓ = α·softplus(x)/sigmoid(x); c = β = α
//   L = mean_a ℓ_a over 2N anchors (the reported loss, never scaled).
// Backward coefficients, scaled by scale = upstream[0] / (2Nτ):
//   coef_c[a]   = scale · c_a
//   pos_coef[a] = −scale · (β_a + β_p(a)) + upstream[0] · ∂L/∂r_{a mod N} / σ (dclw weight_grad)
//
// Bindings (group 0):
//   0 uniform     params     : FinalParams
//   1 storage r   lse        : array<f32>  2N
//   2 storage r   lse2       : array<f32>  2N (dualtemp)
//   3 storage r   cos_pos    : array<f32>  2N
//   4 storage r   upstream   : array<f32>  1, ∂out/∂L (chain rule from the caller)
//   5 storage rw  loss       : array<f32>  1
//   6 storage rw  per_anchor : array<f32>  2N
//   7 storage rw  coef_c     : array<f32>  2N
//   8 storage rw  pos_coef   : array<f32>  2N
//
// One workgroup of 256 threads; fixed-order strided sums and tree reductions: deterministic.

struct FinalParams {
  n: u32,
  loss_kind: u32,   // 0 ntxent, 1 dcl, 2 dclw, 3 flatnce, 4 dualtemp
  weight_grad: u32, // dclw: 1 = gradient flows through w
  pad: u32,
  inv_tau: f32,
  inv_tau2: f32,
  inv_sigma: f32,
  pad2: f32,
}

@group(0) @binding(0) var<uniform> params: FinalParams;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read> lse2: array<f32>;
@group(0) @binding(3) var<storage, read> cos_pos: array<f32>;
@group(0) @binding(4) var<storage, read> upstream: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
@group(0) @binding(6) var<storage, read_write> per_anchor: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef_c: array<f32>;
@group(0) @binding(8) var<storage, read_write> pos_coef: array<f32>;

const WG: u32 = 256u;
const NTXENT: u32 = 0u;
const DCL: u32 = 1u;
const DCLW: u32 = 2u;
const FLATNCE: u32 = 3u;
const DUALTEMP: u32 = 4u;

var<workgroup> red: array<f32, WG>;
var<workgroup> red2: array<f32, WG>;
// DCLW softmax statistics: max of r, Σ exp(r − max), Σ exp(r − max)·s.
var<workgroup> r_max: f32;
var<workgroup> r_sum: f32;
var<workgroup> rs_sum: f32;

fn log1p_safe(x: f32) -> f32 {
  // log(1 + x) for x ≥ 0. Rounding 1 + x loses ~6e-8/x of x's relative precision, so small x
  // use 2·atanh(s), s = x/(2 + x) ≤ 0.2: the series below is exact to ~3e-10.
  if (x < 0.5) {
    let s = x / (2.0 + x);
    let s2 = s * s;
    return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 / 11.0)))));
  }
  return log(1.0 + x);
}
fn softplus(x: f32) -> f32 { return max(x, 0.0) + log1p_safe(exp(-abs(x))); }
fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn positive_of(a: u32) -> u32 {
  return select(a + params.n, a - params.n, a >= params.n);
}

// DCLW weight w_i and softmax π_i (valid after the softmax reduction).
fn pi_of(i: u32) -> f32 { return exp(cos_pos[i] * params.inv_sigma - r_max) / r_sum; }
fn weight_of(i: u32) -> f32 { return 2.0 - f32(params.n) * pi_of(i); }

// (ℓ_a, c_a, β_a) for one anchor.
fn anchor_terms(a: u32) -> vec3<f32> {
  let s_pos = cos_pos[a] * params.inv_tau;
  let x = lse[a] - s_pos;
  switch params.loss_kind {
    case NTXENT: { let g = sigmoid(x); return vec3<f32>(softplus(x), g, g); }
    case DCL: { return vec3<f32>(x, 1.0, 1.0); }
    case FLATNCE: { return vec3<f32>(softplus(x), 1.0, 1.0); }
    case DCLW: {
      let w = weight_of(a % params.n);
      return vec3<f32>(lse[a] - w * s_pos, 1.0, w);
    }
    default: { // DUALTEMP
      // −log P = softplus(x) and 1 − P = sigmoid(x) (= exp(lse − lse_all), no subtraction);
      // their ratio is taken in one stable piece since both underflow together when x ≪ 0.
      let alpha = sigmoid(lse2[a] - cos_pos[a] * params.inv_tau2);
      return vec3<f32>(alpha * softplus_over_sigmoid(x), alpha, alpha);
    }
  }
}

// softplus(x) / sigmoid(x) = (1 + t)·log1p(t)/t with t = e^x for x < 0; finite for every x.
fn softplus_over_sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return softplus(x) * (1.0 + exp(-x)); }
  let t = exp(x);
  if (t == 0.0) { return 1.0; }
  return (1.0 + t) * log1p_safe(t) / t;
}

// Tree-sum of red[] (and red2[] when both) into red[0]; call in uniform control flow.
fn reduce_sum(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red[lid] += red[lid + stride];
      red2[lid] += red2[lid + stride];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  let two_n = 2u * n;
  let up = upstream[0];

  if (params.loss_kind == DCLW) {
    var m = -3.0e38;
    for (var i = lid; i < n; i += WG) { m = max(m, cos_pos[i] * params.inv_sigma); }
    red[lid] = m;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
      if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
      workgroupBarrier();
    }
    if (lid == 0u) { r_max = red[0]; }
    workgroupBarrier();
    var se = 0.0;
    var ses = 0.0;
    for (var i = lid; i < n; i += WG) {
      let e = exp(cos_pos[i] * params.inv_sigma - r_max);
      se += e;
      ses += e * cos_pos[i] * params.inv_tau;
    }
    red[lid] = se;
    red2[lid] = ses;
    workgroupBarrier();
    reduce_sum(lid);
    if (lid == 0u) {
      r_sum = red[0];
      rs_sum = red2[0];
    }
    workgroupBarrier();
  }

  let scale = up / (f32(two_n) / params.inv_tau);
  var total = 0.0;
  for (var a = lid; a < two_n; a += WG) {
    let t = anchor_terms(a);
    let tp = anchor_terms(positive_of(a));
    per_anchor[a] = t.x;
    total += t.x;
    coef_c[a] = scale * t.y;
    var pc = -scale * (t.z + tp.z);
    if (params.loss_kind == DCLW && params.weight_grad == 1u) {
      let j = a % n;
      let s_bar = rs_sum / r_sum;
      pc += up * pi_of(j) * (cos_pos[j] * params.inv_tau - s_bar) * params.inv_sigma;
    }
    pos_coef[a] = pc;
  }
  workgroupBarrier();
  red[lid] = total;
  red2[lid] = 0.0;
  workgroupBarrier();
  reduce_sum(lid);
  if (lid == 0u) { loss[0] = red[0] / f32(two_n); }
}
