// anchor_stats.wgsl — forward pass, split over the candidate axis: per (anchor block, candidate
// chunk) the partial online log-sum-exp state of each anchor over that chunk's candidates, and
// the extras the options ask for, from the same similarity tiles. anchor_stats_merge.wgsl
// combines the chunks of each anchor into stats.
// Prepended with tile_params.wgsl (TileParams, the candidate axis and its chunks),
// stable_math.wgsl (softplus, sigmoid) and similarity_tile.wgsl (load_u, masks, per-pair terms).
//
// Math (docs/FORMULAS.md), S_ab = u_a·u_b / τ, neg(a) the loss's candidate set (see similarity_tile.wgsl),
// C the candidates of this workgroup's chunk; for each row a, with running maxima:
//   M  = max_{b∈neg(a)∩C} S_ab,        S  = Σ_{b∈neg(a)∩C} exp(S_ab − M)
//   T  = Σ_{b∈neg(a)∩C} exp(S_ab − M)·S_ab                     (SOFTMAX_MEAN, for ∂L/∂τ)
//   M2, S2 the same at 1/(τ·m)                                (SECOND_TEMPERATURE, dualtemp)
//   Mu, Su the same for x_ab = −2‖u_a − u_b‖² + 2q_a over b in a's view, b ≠ a, b ∈ C
//          (UNIFORMITY), with ‖u_a − u_b‖² = q_a + q_b − 2 u_a·u_b, q = |u|²
// The third wave's per-pair terms (TileParams.loss_form, docs/FORMULAS.md "SupCon and SigLIP"), same tiles:
//   SUPCON_FORM  the LSE above over every b ≠ a (positives included), T likewise, and beside them
//                P = Σ_{b∈P(a)∩C} (S_ab − 1/τ) and its count |P(a)∩C|, P(a) the same-label rows
//   SIGLIP_FORM  no LSE: for the N rows i of u1 and the rows j of u2 in C, with l = S_ij + b,
//                z = +1 if j = p(i) else −1 and g = −z σ(−z l):  Σ softplus(−z l), Σ g, Σ g·S_ij
// An empty set leaves (M, S) = (−3e38, 0), which merges as nothing. In bank form the loss's
// candidates are the K bank rows [2N, 2N+K) and its anchors the N rows of u1; UNIFORMITY still
// pairs the views' rows, so the axis then spans all of U (tile_params.wgsl).
// Nothing N×N or N×K is stored: each workgroup owns 64 rows and streams its chunk in tiles of
// 128; tiles that hold no pair of either kind for its rows are skipped.
//
// Tiling: 16×8 threads; thread (tx, ty) owns anchors ty + 8·r (r < 8) and candidates
// tx + 16·c (c < 8) of each 64×128 tile: an 8×8 register block, four mat4x4 whose columns are
// vec4×mat4 products. Per vec4 of depth a thread reads 16 vec4s of workgroup memory for 64 dot4s
// (a 4×4 block would read 8 for 16): half the workgroup-memory traffic per FMA. Strided
// ownership keeps those reads conflict-free. SA4 = 2 vec4s of each row are staged at a time.
// Each thread keeps (running max, Σ exp(x − max), Σ exp(x − max)·x) for its eight rows as vec4
// triples, updated once per tile (one exp per element), then the 16 threads of a row merge.
//
// Bindings (group 0):
//   0 uniform     params   : TileParams
//   1 storage r   U        : array<vec4<f32>>  (2N+K)×D4 normalized rows
//   2 storage r   norms    : array<f32>        2N, |z_k| (q for UNIFORMITY)
//   3 storage rw  partials : array<vec4<f32>>  chunks × stat_rows × 2: (M, S, T, M2), (S2, Mu, Su, 0)
//                                              of row a in chunk c at 2·(c·stat_rows + a);
//                                              SUPCON_FORM (M, S, T, −3e38), (P, |P∩C|, 0, 0);
//                                              SIGLIP_FORM (Σ softplus, Σ g, Σ g·S, 0), (0, 0, 0, 0)
//   4 storage r   labels   : array<i32>        N class labels (SUPCON_FORM; a placeholder otherwise)
//
// Grid: (⌈stat_rows / 64⌉, chunks). Rows a ≥ stat_rows are not written.

const NEG_BIG: f32 = -3.0e38; // finite "minus infinity": keeps exp(m_old - m_new) free of NaN
const SROWS: u32 = 64u;       // anchors per workgroup
const SCOLS: u32 = 128u;      // candidates per tile
const SA4: u32 = 2u;          // vec4s of depth staged per step

@group(0) @binding(0) var<uniform> params: TileParams;
@group(0) @binding(1) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> labels: array<i32>;

var<workgroup> stage_a: array<vec4<f32>, 128>; // [k][anchor], SA4 × SROWS
var<workgroup> stage_b: array<vec4<f32>, 256>; // [k][candidate], SA4 × SCOLS
// Per (row, tx): (running max, a sum scaled by it); merged across the 16 threads of each row.
var<workgroup> merge_buf: array<vec2<f32>, 1024>;

const MIN_NORM: f32 = 1e-12;
// Candidate sets of update8's masks.
const LOSS_SET: u32 = 0u;
const SAME_VIEW_SET: u32 = 1u;

// Online state of four rows: running max m, s = Σ exp(x − m), t = Σ exp(x − m)·x.
struct Lse4 {
  m: vec4<f32>,
  s: vec4<f32>,
  t: vec4<f32>,
}

// The 8×8 block: lo/hi = anchors ty + {0,8,16,24} / ty + {32,40,48,56}; c0/c1 = candidates
// tx + 16·{0..3} / tx + 16·{4..7}. Column j of each matrix holds four anchors' dots with one candidate.
struct Block {
  lo_c0: mat4x4<f32>,
  lo_c1: mat4x4<f32>,
  hi_c0: mat4x4<f32>,
  hi_c1: mat4x4<f32>,
}

// Dots of the 64 anchors from row0 with the 128 candidates from col0. Uniform control flow only.
fn block_dots(row0: u32, col0: u32, lid: u32, tx: u32, ty: u32) -> Block {
  var lo_c0 = mat4x4<f32>();
  var lo_c1 = mat4x4<f32>();
  var hi_c0 = mat4x4<f32>();
  var hi_c1 = mat4x4<f32>();
  // Consecutive threads load consecutive vec4s of a row.
  let lr = lid / SA4;
  let lk = lid % SA4;
  for (var k0 = 0u; k0 < params.d4; k0 += SA4) {
    stage_a[lk * SROWS + lr] = load_u(row0 + lr, k0 + lk);
    stage_b[lk * SCOLS + lr] = load_u(col0 + lr, k0 + lk);
    stage_b[lk * SCOLS + lr + 64u] = load_u(col0 + lr + 64u, k0 + lk);
    workgroupBarrier();
    for (var k = 0u; k < SA4; k++) {
      let ba = k * SROWS + ty;
      let lo = mat4x4<f32>(stage_a[ba], stage_a[ba + 8u], stage_a[ba + 16u], stage_a[ba + 24u]);
      let hi = mat4x4<f32>(stage_a[ba + 32u], stage_a[ba + 40u], stage_a[ba + 48u], stage_a[ba + 56u]);
      let bb = k * SCOLS + tx;
      let b0 = stage_b[bb];
      let b1 = stage_b[bb + 16u];
      let b2 = stage_b[bb + 32u];
      let b3 = stage_b[bb + 48u];
      lo_c0[0] += b0 * lo; lo_c0[1] += b1 * lo; lo_c0[2] += b2 * lo; lo_c0[3] += b3 * lo;
      hi_c0[0] += b0 * hi; hi_c0[1] += b1 * hi; hi_c0[2] += b2 * hi; hi_c0[3] += b3 * hi;
      let b4 = stage_b[bb + 64u];
      let b5 = stage_b[bb + 80u];
      let b6 = stage_b[bb + 96u];
      let b7 = stage_b[bb + 112u];
      lo_c1[0] += b4 * lo; lo_c1[1] += b5 * lo; lo_c1[2] += b6 * lo; lo_c1[3] += b7 * lo;
      hi_c1[0] += b4 * hi; hi_c1[1] += b5 * hi; hi_c1[2] += b6 * hi; hi_c1[3] += b7 * hi;
    }
    workgroupBarrier();
  }
  return Block(lo_c0, lo_c1, hi_c0, hi_c1);
}

// Online update of four rows' states with a 4×4 block of logits (columns = candidates);
// `with_t` also keeps t (the softmax-weighted sum of the logits).
fn update(st: Lse4, x: mat4x4<f32>, v0: vec4<bool>, v1: vec4<bool>, v2: vec4<bool>, v3: vec4<bool>, with_t: bool) -> Lse4 {
  let low = vec4<f32>(NEG_BIG);
  let tile_max = max(max(select(low, x[0], v0), select(low, x[1], v1)), max(select(low, x[2], v2), select(low, x[3], v3)));
  let m = max(st.m, tile_max);
  let zero = vec4<f32>(0.0);
  let rescale = exp(st.m - m);
  let e0 = select(zero, exp(x[0] - m), v0);
  let e1 = select(zero, exp(x[1] - m), v1);
  let e2 = select(zero, exp(x[2] - m), v2);
  let e3 = select(zero, exp(x[3] - m), v3);
  var t = st.t;
  if (with_t) { t = t * rescale + e0 * x[0] + e1 * x[1] + e2 * x[2] + e3 * x[3]; }
  return Lse4(m, st.s * rescale + e0 + e1 + e2 + e3, t);
}

// Plain per-row sums of four rows (the third wave's terms): no running max is needed.
struct Sums4 {
  x: vec4<f32>,
  y: vec4<f32>,
  z: vec4<f32>,
}

// SigLIP's three sums, one candidate column `b` of logits x = S (without the bias).
fn siglip_column(acc: Sums4, x: vec4<f32>, a: vec4<u32>, pa: vec4<u32>, b: u32) -> Sums4 {
  let v = negative_mask(a, pa, b);
  let z = siglip_sign(pa, b);
  let l = x + vec4<f32>(params.bias);
  let m = -z * l;
  let sp = vec4<f32>(softplus(m.x), softplus(m.y), softplus(m.z), softplus(m.w));
  let g = siglip_slope(l, z);
  let zero = vec4<f32>(0.0);
  return Sums4(acc.x + select(zero, sp, v), acc.y + select(zero, g, v), acc.z + select(zero, g * x, v));
}

// SupCon's positive sum and count, one candidate column `b` of logits x = S.
fn positives_column(acc: Sums4, x: vec4<f32>, a: vec4<u32>, pa: vec4<u32>, b: u32) -> Sums4 {
  let v = negative_mask(a, pa, b) & same_label(a, b);
  let zero = vec4<f32>(0.0);
  return Sums4(acc.x + select(zero, x - vec4<f32>(params.inv_tau), v), acc.y + select(zero, vec4<f32>(1.0), v), acc.z);
}

// One candidate column through `siglip_column` (siglip = true) or `positives_column`.
fn pair_column(acc: Sums4, x: vec4<f32>, a: vec4<u32>, pa: vec4<u32>, b: u32, siglip: bool) -> Sums4 {
  if (siglip) { return siglip_column(acc, x, a, pa, b); }
  return positives_column(acc, x, a, pa, b);
}

// Both column halves of one row group: logits x0 (candidates col + 16·{0..3}), x1 (+ 64).
fn sums8(acc: Sums4, x0: mat4x4<f32>, x1: mat4x4<f32>, a: vec4<u32>, pa: vec4<u32>, col: u32, siglip: bool) -> Sums4 {
  var r = pair_column(acc, x0[0], a, pa, col, siglip);
  r = pair_column(r, x0[1], a, pa, col + 16u, siglip);
  r = pair_column(r, x0[2], a, pa, col + 32u, siglip);
  r = pair_column(r, x0[3], a, pa, col + 48u, siglip);
  r = pair_column(r, x1[0], a, pa, col + 64u, siglip);
  r = pair_column(r, x1[1], a, pa, col + 80u, siglip);
  r = pair_column(r, x1[2], a, pa, col + 96u, siglip);
  return pair_column(r, x1[3], a, pa, col + 112u, siglip);
}

// Which of the four rows `a` have candidate b in uniformity's set: same view, b ≠ a.
fn same_view_mask(a: vec4<u32>, b: u32) -> vec4<bool> {
  let in_views = (a < vec4<u32>(params.two_n)) & vec4<bool>(b < params.two_n) & (vec4<u32>(b) != a);
  return in_views & ((a < vec4<u32>(params.n)) == vec4<bool>(b < params.n));
}

fn set_mask(cands: u32, a: vec4<u32>, pa: vec4<u32>, b: u32) -> vec4<bool> {
  if (cands == SAME_VIEW_SET) { return same_view_mask(a, b); }
  return negative_mask(a, pa, b);
}

// Both column halves of one row group: logits x0 (candidates col + 16·{0..3}), x1 (+ 64).
fn update8(st: Lse4, x0: mat4x4<f32>, x1: mat4x4<f32>, a: vec4<u32>, pa: vec4<u32>, col: u32, cands: u32, with_t: bool) -> Lse4 {
  let s0 = update(st, x0, set_mask(cands, a, pa, col), set_mask(cands, a, pa, col + 16u),
                  set_mask(cands, a, pa, col + 32u), set_mask(cands, a, pa, col + 48u), with_t);
  return update(s0, x1, set_mask(cands, a, pa, col + 64u), set_mask(cands, a, pa, col + 80u),
                set_mask(cands, a, pa, col + 96u), set_mask(cands, a, pa, col + 112u), with_t);
}

// q = |u|² of view row b (1 unless |z_b| < 1e-12); 0 past the views (masked there anyway).
fn sq_norm(b: u32) -> f32 {
  if (b >= params.two_n) { return 0.0; }
  let r = norms[b] / max(norms[b], MIN_NORM);
  return r * r;
}

// Columns 2·q_b of the four candidates col, col + 16, col + 32, col + 48, one per matrix column.
fn q_columns(col: u32) -> mat4x4<f32> {
  return mat4x4<f32>(vec4<f32>(2.0 * sq_norm(col)), vec4<f32>(2.0 * sq_norm(col + 16u)),
                     vec4<f32>(2.0 * sq_norm(col + 32u)), vec4<f32>(2.0 * sq_norm(col + 48u)));
}

fn stash_rows(m: vec4<f32>, v: vec4<f32>, first: u32, tx: u32) {
  merge_buf[first * 16u + tx] = vec2<f32>(m.x, v.x);
  merge_buf[(first + 8u) * 16u + tx] = vec2<f32>(m.y, v.y);
  merge_buf[(first + 16u) * 16u + tx] = vec2<f32>(m.z, v.z);
  merge_buf[(first + 24u) * 16u + tx] = vec2<f32>(m.w, v.w);
}

// Stash (m, v) of the thread's eight rows: v is the state's s, or its t.
fn stash(m_lo: vec4<f32>, v_lo: vec4<f32>, m_hi: vec4<f32>, v_hi: vec4<f32>, ty: u32, tx: u32) {
  stash_rows(m_lo, v_lo, ty, tx);
  stash_rows(m_hi, v_hi, ty + 32u, tx);
}

// Thread `lid < 64` merges the 16 partial (m, v) of row lid: (M, Σ v·exp(m − M)), M the max.
// With every m = 0 (plain_sum) that is the plain sum Σ v, exactly (exp(0) = 1).
fn merge_row(lid: u32) -> vec2<f32> {
  var m = NEG_BIG;
  for (var t = 0u; t < 16u; t++) { m = max(m, merge_buf[lid * 16u + t].x); }
  var s = 0.0;
  for (var t = 0u; t < 16u; t++) {
    let p = merge_buf[lid * 16u + t];
    s += p.y * exp(p.x - m);
  }
  return vec2<f32>(m, s);
}

// The 16 threads' plain sums of each row (v_lo, v_hi as in `stash`): row lid's total for lid < 64.
// Call in uniform control flow (barriers).
fn plain_sum(v_lo: vec4<f32>, v_hi: vec4<f32>, ty: u32, tx: u32, lid: u32) -> f32 {
  let zero = vec4<f32>(0.0);
  workgroupBarrier();
  stash(zero, v_lo, zero, v_hi, ty, tx);
  workgroupBarrier();
  var total = 0.0;
  if (lid < SROWS) { total = merge_row(lid).y; }
  return total;
}

@compute @workgroup_size(16, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tx = local.x;
  let ty = local.y;
  let row0 = wg.x * SROWS;
  let chunk = wg.y;
  let a_lo = vec4<u32>(row0 + ty) + vec4<u32>(0u, 8u, 16u, 24u);
  let a_hi = a_lo + vec4<u32>(32u);
  let pa_lo = positives_of(a_lo);
  let pa_hi = positives_of(a_hi);
  let second = (params.flags & SECOND_TEMPERATURE) != 0u;
  let with_t = (params.flags & SOFTMAX_MEAN) != 0u;
  let uniformity = (params.flags & UNIFORMITY) != 0u;
  let empty = Lse4(vec4<f32>(NEG_BIG), vec4<f32>(0.0), vec4<f32>(0.0));
  var lo = empty;  // the loss's lse (and t), at 1/τ
  var hi = empty;
  var lo2 = empty; // dualtemp's lse at 1/(τ·m)
  var hi2 = empty;
  var lou = empty; // uniformity's same-view lse
  var hiu = empty;
  let siglip = params.loss_form == SIGLIP_FORM;
  let supcon = params.loss_form == SUPCON_FORM;
  let no_sums = Sums4(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  var sums_lo = no_sums; // the third wave's per-pair sums (SigLIP's three, SupCon's positives)
  var sums_hi = no_sums;

  // This workgroup's chunk of the candidate axis, tile by tile. A tile feeds the loss's state
  // and/or uniformity's; one that can hold neither kind of pair for these rows is skipped
  // (workgroup-uniform: 'cross' skips same-view tiles, the bank form the views' tiles unless
  // uniformity needs them, and row blocks with no anchor every bank tile).
  let range = chunk_range(stats_cand0(), params.stats_chunk, chunk);
  for (var col0 = range.x; col0 < range.y; col0 += SCOLS) {
    let for_loss = loss_pairs_in(row0, SROWS, col0, SCOLS);
    let for_uniformity = uniformity && same_view_pairs_in(row0, SROWS, col0, SCOLS);
    if (!for_loss && !for_uniformity) { continue; }
    let dots = block_dots(row0, col0, lid, tx, ty);
    let col = col0 + tx;
    if (for_loss && (siglip || supcon)) {
      sums_lo = sums8(sums_lo, dots.lo_c0 * params.inv_tau, dots.lo_c1 * params.inv_tau, a_lo, pa_lo, col, siglip);
      sums_hi = sums8(sums_hi, dots.hi_c0 * params.inv_tau, dots.hi_c1 * params.inv_tau, a_hi, pa_hi, col, siglip);
    }
    if (for_loss && !siglip) {
      lo = update8(lo, dots.lo_c0 * params.inv_tau, dots.lo_c1 * params.inv_tau, a_lo, pa_lo, col, LOSS_SET, with_t);
      hi = update8(hi, dots.hi_c0 * params.inv_tau, dots.hi_c1 * params.inv_tau, a_hi, pa_hi, col, LOSS_SET, with_t);
      if (second) {
        lo2 = update8(lo2, dots.lo_c0 * params.inv_tau2, dots.lo_c1 * params.inv_tau2, a_lo, pa_lo, col, LOSS_SET, false);
        hi2 = update8(hi2, dots.hi_c0 * params.inv_tau2, dots.hi_c1 * params.inv_tau2, a_hi, pa_hi, col, LOSS_SET, false);
      }
    }
    if (for_uniformity) {
      // −2‖u_a − u_b‖² + 2q_a = 4 u_a·u_b − 2q_b; the anchor's −2q_a is applied in the merge pass.
      let q0 = q_columns(col);
      let q1 = q_columns(col + 64u);
      lou = update8(lou, dots.lo_c0 * 4.0 - q0, dots.lo_c1 * 4.0 - q1, a_lo, pa_lo, col, SAME_VIEW_SET, false);
      hiu = update8(hiu, dots.hi_c0 * 4.0 - q0, dots.hi_c1 * 4.0 - q1, a_hi, pa_hi, col, SAME_VIEW_SET, false);
    }
  }

  // Merge the 16 partial states of each row, one statistic at a time through merge_buf, into
  // this chunk's partial state of the row: (M, S, T, M2), (S2, Mu, Su, 0).
  let row = row0 + lid;
  var p0 = vec4<f32>(NEG_BIG, 0.0, 0.0, NEG_BIG);
  var p1 = vec4<f32>(0.0, NEG_BIG, 0.0, 0.0);
  stash(lo.m, lo.s, hi.m, hi.s, ty, tx);
  workgroupBarrier();
  if (lid < SROWS) { let ms = merge_row(lid); p0.x = ms.x; p0.y = ms.y; }
  if (with_t) {
    workgroupBarrier();
    stash(lo.m, lo.t, hi.m, hi.t, ty, tx);
    workgroupBarrier();
    // Same maxima as the sums above: the merge pass divides the merged T by the merged S.
    if (lid < SROWS) { p0.z = merge_row(lid).y; }
  }
  if (second) {
    workgroupBarrier();
    stash(lo2.m, lo2.s, hi2.m, hi2.s, ty, tx);
    workgroupBarrier();
    if (lid < SROWS) { let ms = merge_row(lid); p0.w = ms.x; p1.x = ms.y; }
  }
  if (uniformity) {
    workgroupBarrier();
    stash(lou.m, lou.s, hiu.m, hiu.s, ty, tx);
    workgroupBarrier();
    if (lid < SROWS) { let ms = merge_row(lid); p1.y = ms.x; p1.z = ms.y; }
  }
  if (supcon) {
    p1.x = plain_sum(sums_lo.x, sums_hi.x, ty, tx, lid);
    p1.y = plain_sum(sums_lo.y, sums_hi.y, ty, tx, lid);
  }
  if (siglip) {
    // SigLIP keeps no LSE: its partial state is three plain sums (header).
    p0 = vec4<f32>(plain_sum(sums_lo.x, sums_hi.x, ty, tx, lid), plain_sum(sums_lo.y, sums_hi.y, ty, tx, lid),
                   plain_sum(sums_lo.z, sums_hi.z, ty, tx, lid), 0.0);
    p1 = vec4<f32>(0.0);
  }
  if (lid < SROWS && row < params.stat_rows) {
    let at = 2u * (chunk * params.stat_rows + row);
    partials[at] = p0;
    partials[at + 1u] = p1;
  }
}
