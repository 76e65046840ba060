// similarity_tile.wgsl — shared code, prepended to anchor_stats.wgsl and grad_rows.wgsl (after
// tile_params.wgsl: TileParams, the candidate axis and its chunks).
//
// What both tile kernels share: bounds-checked vec4 loads of U, the
// candidate masks, and (for grad_rows) the 64-row staging tiles tile_a/tile_b, BK4 = 4 vec4s of
// each row deep, with the strided row ownership rows_of (thread row ty owns ty + 16·r, r < 4).
// anchor_stats stages its own 64×128 tiles (see there).
//
// Rows of U: the 2N normalized views [u1; u2], then (bank form) the K normalized bank rows.
// Candidate masks (docs/FORMULAS.md): p(a) = (a + N) mod 2N; neg(a) =
//   in-batch, negatives 'all':   every view row b ≠ a, p(a)                (2N − 2)
//   in-batch, 'cross'/dualtemp:  the other view's rows b ≠ p(a)            (N − 1)
//   bank form:                   every bank row, for the N anchors of u1   (K)
//   supcon (SUPCON_FORM):        every view row b ≠ a, p(a) included       (2N − 1)
//   siglip (SIGLIP_FORM):        every row of the other tower, p(a) included (N)
// The including kernel binds `params: TileParams`, `U` and `labels` (SupCon's N class labels, i32;
// a placeholder for the other losses, never read then); stable_math.wgsl comes before this file.

const TILE: u32 = 64u;
const BK4: u32 = 4u;
const ROW_STRIDE = vec4<u32>(0u, 16u, 32u, 48u);

var<workgroup> tile_a: array<vec4<f32>, 256>; // [k][row], BK4 × TILE
var<workgroup> tile_b: array<vec4<f32>, 256>; // [k][col]

fn load_u(row: u32, k: u32) -> vec4<f32> {
  if (row < params.rows && k < params.d4) { return U[row * params.d4 + k]; }
  return vec4<f32>(0.0);
}

// The four rows a = row0 + ty + 16·r a thread owns, and their positives.
fn rows_of(row0: u32, ty: u32) -> vec4<u32> { return vec4<u32>(row0 + ty) + ROW_STRIDE; }
fn positives_of(a: vec4<u32>) -> vec4<u32> {
  return select(a + vec4<u32>(params.n), a - vec4<u32>(params.n), a >= vec4<u32>(params.n));
}

// Which of the four anchors `a` (positives `pa`) have candidate b in the loss's candidate set
// (a negative for SOFTMAX_FORM; see the masks above for the other forms).
fn negative_mask(a: vec4<u32>, pa: vec4<u32>, b: u32) -> vec4<bool> {
  let bv = vec4<u32>(b);
  let anchor_ok = a < vec4<u32>(params.anchors);
  if (bank_form()) {
    let in_bank = (b >= params.two_n) && (b < params.rows);
    return anchor_ok & vec4<bool>(in_bank);
  }
  if (params.loss_form == SIGLIP_FORM) {
    return anchor_ok & vec4<bool>(b < params.two_n) & ((a < vec4<u32>(params.n)) != vec4<bool>(b < params.n));
  }
  var ok = anchor_ok & (bv != a) & vec4<bool>(b < params.two_n);
  if (params.loss_form != SUPCON_FORM) { ok = ok & (bv != pa); }
  if (params.cross == 1u) { ok = ok & ((a < vec4<u32>(params.n)) != vec4<bool>(b < params.n)); }
  return ok;
}

// SigLIP's per-pair label z_ab: +1 for the positive pair (b = p(a)), −1 for every other pair.
fn siglip_sign(pa: vec4<u32>, b: u32) -> vec4<f32> {
  return select(vec4<f32>(-1.0), vec4<f32>(1.0), pa == vec4<u32>(b));
}
// SigLIP's g = ∂(softplus(−z·l))/∂l = −z·σ(−z·l) for four pairs with logits l, signs z.
fn siglip_slope(l: vec4<f32>, z: vec4<f32>) -> vec4<f32> {
  let m = -z * l;
  return -z * vec4<f32>(sigmoid(m.x), sigmoid(m.y), sigmoid(m.z), sigmoid(m.w));
}
// SupCon: whether candidate b shares the label of each of the four rows a (labels[i] is sample
// i's class; both views share it). Only called under SUPCON_FORM, where `labels` holds N values.
fn same_label(a: vec4<u32>, b: u32) -> vec4<bool> {
  let last = params.two_n - 1u;
  let r = min(a, vec4<u32>(last)) % vec4<u32>(params.n);
  let lb = labels[min(b, last) % params.n];
  return vec4<i32>(labels[r.x], labels[r.y], labels[r.z], labels[r.w]) == vec4<i32>(lb);
}
