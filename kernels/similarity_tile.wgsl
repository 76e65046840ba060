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
// The including kernel binds `params: TileParams` and `U`.

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

// Which of the four anchors `a` (positives `pa`) have candidate b as a negative of the loss.
fn negative_mask(a: vec4<u32>, pa: vec4<u32>, b: u32) -> vec4<bool> {
  let bv = vec4<u32>(b);
  let anchor_ok = a < vec4<u32>(params.anchors);
  if (bank_form()) {
    let in_bank = (b >= params.two_n) && (b < params.rows);
    return anchor_ok & vec4<bool>(in_bank);
  }
  var ok = anchor_ok & (bv != a) & (bv != pa) & vec4<bool>(b < params.two_n);
  if (params.cross == 1u) { ok = ok & ((a < vec4<u32>(params.n)) != vec4<bool>(b < params.n)); }
  return ok;
}
