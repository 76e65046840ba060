// grad_rows.wgsl — backward pass: ∂L/∂U row by row, recomputing similarity tiles, split over
// the candidate axis: each (row block, column block, candidate chunk) workgroup writes the
// chunk's part of the sum below into its own slice of gU; normalize_backward.wgsl adds the
// slices up in chunk order (no atomics, deterministic).
// Prepended with tile_params.wgsl (TileParams, the candidate axis and its chunks),
// stable_math.wgsl (sigmoid) and similarity_tile.wgsl (masks, load_u, tile_a/tile_b staging,
// per-pair terms).
//
// Math (docs/FORMULAS.md, "one backward rule"), with coefs[a] = (coef_c, pos_coef) from loss_finalize:
// coef_c[a] = scale·c_a and pos_coef[a] the whole positive-pair coefficient (−scale·(β_a +
// β_p(a)), plus the DCLW weight-gradient term). In-batch candidates (negatives 'all' or 'cross'):
//   gU_k = Σ_{b∈neg(k)} (coef_c[k]·e^{S_kb − lse_k} + coef_c[b]·e^{S_kb − lse_b}) · U_b
//          + pos_coef[k] · U_p(k)
// Both exponents are ≤ 0 since lse_k ≥ S_kb for every negative b (and b∈neg(k) ⇔ k∈neg(b)).
// dualtemp uses the same rule with its cross-view mask. Bank form (candidates = bank rows
// 2N.., anchors = the N rows of u1, no gradient to the bank): only the anchor's own term,
//   gU_i = coef_c[i] Σ_j e^{S_ij − lse_i} b_j + pos_coef[i]·u2_i   (i < N)
//   gU_{i+N} = pos_coef[i+N]·u1_i                                  (coef_c = 0 there)
// and workgroups holding no anchor skip the candidate sweep.
// The third wave (TileParams.loss_form, docs/FORMULAS.md "SupCon and SigLIP"), same sum with its own weights W_kb:
//   SUPCON_FORM  over every b ≠ k:  W_kb = coef_c[k] π_kb + coef_c[b] π_bk − [y_b = y_k](ρ[k] + ρ[b]),
//                π_kb = e^{S_kb − lse_k}, ρ[a] = pos_coef[a] = scale·κ/|P(a)| (loss_finalize); no
//                separate positive-pair term
//   SIGLIP_FORM  over the other tower's rows b (the positive included), l = S_kb + bias:
//                W_kb = coef_c[k] · g(l, z), g = −z σ(−z l), z = +1 iff b = p(k); coef_c = 1/(Nτ)
//                (times the upstream gradient), so gu1_i = (1/τ) Σ_j G_ij u2_j and gu2_j alike
//
// Collapsed batches (issue 9 point 8): when every U_b is close to u_k, Σ W·U_b is a large
// multiple of u_k plus a small tangent part, and f32 rounding of the large part (then the
// projection's g − u(u·g) cancelling it) swamps the tangent part. Since normalize_backward
// removes every multiple of u_k anyway (rows with |z_k| ≥ 1e-12), the sum is taken over the
// differences instead, exact in f32 when rows are close (Sterbenz):
//   gU_k = Σ_b W_kb (U_b − u_k) + pos_coef[k] (U_p(k) − u_k)   [+ (Σ_b W_kb + pos_coef[k]) u_k]
// The bracket is the part along u_k; it is added back only for rows whose normalization is
// the constant divisor (|z_k| < 1e-12, no projection), which is why `norms` is bound. The bank
// form takes the same differences (b_j − u_i, and u_i − u_{i+N} for the u2 rows).
//
// A workgroup owns 64 gradient rows × 32 vec4 columns (dispatch y covers D4 > 32) of one chunk's
// slice (dispatch z), so there are no atomics and no N×N buffer, and the result is
// deterministic. Slice c holds Σ over chunk c's candidates b of W_kb (U_b − u_k) (+ its part of
// the radial bracket); the positive pair's term goes into slice 0 only. Every slice is written
// whole, zeros included. Slice 0 holds the 2N rows; later slices only the anchors' rows (all
// 2N in-batch, the N rows of u1 in bank form), since a bank-form u2 row has only the positive
// term. Per 64×32 candidate tile:
// the dots (4 rows × 2 candidates per thread, registers), the weights W into workgroup memory,
// then W·U with U's candidate rows staged 8 at a time in tile_b's space.
//
// Bindings (group 0):
//   0 uniform     params   : TileParams
//   1 storage r   U        : array<vec4<f32>>  (2N+K)×D4 normalized rows (K = 0 without a bank)
//   2 storage r   stats    : array<vec4<f32>>  2N, .x = lse (anchor_stats)
//   3 storage r   coefs    : array<vec2<f32>>  2N, (coef_c, pos_coef) (loss_finalize)
//   4 storage rw  gU       : array<vec4<f32>>  (2N + (chunks − 1)·anchors)×D4: slice 0, then the others
//   5 storage r   norms    : array<f32>        2N, |z_k| (from normalize_rows)
//   6 storage r   labels   : array<i32>        N class labels (SUPCON_FORM; a placeholder otherwise)

const BN: u32 = 32u;      // candidates per tile
const COLS4: u32 = 32u;   // gradient vec4 columns per workgroup (two per thread)
const STAGE: u32 = 8u;    // candidate rows of U staged at a time (8 × 32 vec4s = tile_b)

@group(0) @binding(0) var<uniform> params: TileParams;
@group(0) @binding(1) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> coefs: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> gU: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> norms: array<f32>;
@group(0) @binding(6) var<storage, read> labels: array<i32>;

const MIN_NORM: f32 = 1e-12; // normalize_rows.wgsl's divisor floor

// w_tile[b·16 + ty] = W for candidate b and the four rows thread row ty owns.
var<workgroup> w_tile: array<vec4<f32>, 512>;

// Dots of the thread's four rows with candidates col0 + tx and col0 + tx + 16.
fn tile_dots_64x32(row0: u32, col0: u32, lid: u32, tx: u32, ty: u32) -> mat2x4<f32> {
  var acc = mat2x4<f32>();
  let lr = lid / BK4;
  let lk = lid % BK4;
  for (var k0 = 0u; k0 < params.d4; k0 += BK4) {
    tile_a[lk * TILE + lr] = load_u(row0 + lr, k0 + lk);
    if (lid < BK4 * BN) { tile_b[lk * BN + lr] = load_u(col0 + lr, k0 + lk); }
    workgroupBarrier();
    for (var k = 0u; k < BK4; k++) {
      let a = mat4x4<f32>(tile_a[k * TILE + ty], tile_a[k * TILE + ty + 16u], tile_a[k * TILE + ty + 32u], tile_a[k * TILE + ty + 48u]);
      acc[0] += tile_b[k * BN + tx] * a;
      acc[1] += tile_b[k * BN + tx + 16u] * a;
    }
    workgroupBarrier();
  }
  return acc;
}

// First vec4 of slice `chunk` of gU: slice 0 holds all 2N rows, later ones the `anchors` rows.
fn slice_base(chunk: u32) -> u32 {
  return select(0u, (params.two_n + (chunk - 1u) * params.anchors) * params.d4, chunk > 0u);
}

fn clamp_rows(a: vec4<u32>) -> vec4<u32> { return min(a, vec4<u32>(params.two_n - 1u)); }
fn lse_of(a: vec4<u32>) -> vec4<f32> {
  let r = clamp_rows(a);
  return vec4<f32>(stats[r.x].x, stats[r.y].x, stats[r.z].x, stats[r.w].x);
}
fn coef_of(a: vec4<u32>) -> vec4<f32> {
  let r = clamp_rows(a);
  return vec4<f32>(coefs[r.x].x, coefs[r.y].x, coefs[r.z].x, coefs[r.w].x);
}
fn pos_coef_of(a: vec4<u32>) -> vec4<f32> {
  let r = clamp_rows(a);
  return vec4<f32>(coefs[r.x].y, coefs[r.y].y, coefs[r.z].y, coefs[r.w].y);
}

// W for the thread's four rows and candidate b (dots `x`, already divided by τ). anchor_stats
// stores lse − 1/τ, so the exponent is (x − 1/τ) − (lse − 1/τ).
// A bank row b has no lse or coefficient of its own (no gradient flows to the bank).
fn weights(a: vec4<u32>, pa: vec4<u32>, b: u32, x: vec4<f32>, lse_a: vec4<f32>, c_a: vec4<f32>) -> vec4<f32> {
  let mask = negative_mask(a, pa, b);
  if (params.loss_form == SIGLIP_FORM) {
    return select(vec4<f32>(0.0), c_a * siglip_slope(x + vec4<f32>(params.bias), siglip_sign(pa, b)), mask);
  }
  let x_excess = x - vec4<f32>(params.inv_tau);
  var w = c_a * exp(x_excess - lse_a);
  if (!bank_form()) {
    let bb = min(b, params.two_n - 1u);
    w += coefs[bb].x * exp(x_excess - vec4<f32>(stats[bb].x));
    if (params.loss_form == SUPCON_FORM) {
      // ρ terms of both anchors k and b: S_kb is one entry of the symmetric S.
      w -= select(vec4<f32>(0.0), pos_coef_of(a) + vec4<f32>(coefs[bb].y), same_label(a, b));
    }
  }
  return select(vec4<f32>(0.0), w, mask);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tx = local.x;
  let ty = local.y;
  let row0 = wg.x * TILE;
  let k0 = wg.y * COLS4; // first gradient vec4 column of this workgroup
  let chunk = wg.z;      // candidate chunk: which slice of gU this workgroup writes
  // Slices past the first hold the anchors' rows only (in bank form the u2 rows have nothing
  // but the positive term, which slice 0 holds): a block of u2 rows has nothing to do there.
  if (chunk > 0u && row0 >= params.anchors) { return; }
  let a = rows_of(row0, ty);
  let pa = positives_of(a);
  let lse_a = lse_of(a);
  let c_a = coef_of(a);

  var g0 = mat4x4<f32>(); // gradient column k0 + tx: column r = row a_r
  var g1 = mat4x4<f32>(); // gradient column k0 + tx + 16
  // The thread's own rows u_k at its two columns (the centre the differences are taken from).
  let kx = k0 + tx;
  let own0 = mat4x4<f32>(load_u(a.x, kx), load_u(a.y, kx), load_u(a.z, kx), load_u(a.w, kx));
  let own1 = mat4x4<f32>(load_u(a.x, kx + 16u), load_u(a.y, kx + 16u), load_u(a.z, kx + 16u), load_u(a.w, kx + 16u));
  var wsum = vec4<f32>(0.0); // Σ_b W_kb over this chunk, for the four rows
  // This workgroup's chunk of the loss's candidates, in tiles of BN; tiles the mask would zero
  // for all 64 rows are skipped (workgroup-uniform: 'cross' same-view tiles, and in bank form the
  // u2 rows, which have only the positive term).
  let range = chunk_range(loss_cand0(), params.grad_chunk, chunk);
  for (var col0 = range.x; col0 < range.y; col0 += BN) {
    if (!loss_pairs_in(row0, TILE, col0, BN)) { continue; }
    let dots = tile_dots_64x32(row0, col0, lid, tx, ty) * params.inv_tau;
    w_tile[tx * 16u + ty] = weights(a, pa, col0 + tx, dots[0], lse_a, c_a);
    w_tile[(tx + 16u) * 16u + ty] = weights(a, pa, col0 + tx + 16u, dots[1], lse_a, c_a);
    for (var j0 = 0u; j0 < BN; j0 += STAGE) {
      // 256 threads stage STAGE rows × COLS4 vec4s of U (coalesced along the row).
      tile_b[lid] = load_u(col0 + j0 + lid / COLS4, k0 + lid % COLS4);
      workgroupBarrier();
      for (var j = 0u; j < STAGE; j++) {
        let w = w_tile[(j0 + j) * 16u + ty];
        let u0 = tile_b[j * COLS4 + tx];
        let u1 = tile_b[j * COLS4 + tx + 16u];
        g0[0] += (u0 - own0[0]) * w.x; g0[1] += (u0 - own0[1]) * w.y; g0[2] += (u0 - own0[2]) * w.z; g0[3] += (u0 - own0[3]) * w.w;
        g1[0] += (u1 - own1[0]) * w.x; g1[1] += (u1 - own1[1]) * w.y; g1[2] += (u1 - own1[2]) * w.z; g1[3] += (u1 - own1[3]) * w.w;
        wsum += w;
      }
      workgroupBarrier();
    }
  }

  // The positive pair's term belongs to chunk 0 alone; every chunk writes its whole slice (zeros
  // included), so normalize_backward can sum the slices blindly.
  // (SupCon and SigLIP have no separate positive-pair term: their weights include the positives.)
  let pc = select(vec4<f32>(0.0), pos_coef_of(a), chunk == 0u && params.loss_form == SOFTMAX_FORM);
  let slice = slice_base(chunk);
  let slice_rows = select(params.two_n, params.anchors, chunk > 0u);
  for (var r = 0u; r < 4u; r++) {
    if (a[r] < slice_rows) {
      let base = a[r] * params.d4;
      let pbase = pa[r] * params.d4;
      // Along u_k: needed only where normalize_backward does not project it away.
      let radial = select(0.0, wsum[r] + pc[r], norms[a[r]] < MIN_NORM);
      if (kx < params.d4) { gU[slice + base + kx] = g0[r] + pc[r] * (U[pbase + kx] - own0[r]) + radial * own0[r]; }
      if (kx + 16u < params.d4) { gU[slice + base + kx + 16u] = g1[r] + pc[r] * (U[pbase + kx + 16u] - own1[r]) + radial * own1[r]; }
    }
  }
}
