// anchor_stats.wgsl — forward pass: per-anchor log-sum-exp over the negatives.
// Prepended with similarity_tile.wgsl (TileParams, load_u, masks).
//
// Math (MATH.md): S_ab = u_a·u_b / τ. For every anchor a in [0, 2N):
//   lse[a]  = log Σ_{b∈neg(a)} exp(S_ab)                (online running max: any τ > 0 is safe)
//   lse2[a] = log Σ_{b∈neg(a)} exp(u_a·u_b / (τ·m))     (dualtemp only; else left untouched)
// Nothing N×N is stored: each workgroup owns 64 anchors and streams candidate tiles of 128 rows.
//
// Tiling: 16×8 threads; thread (tx, ty) owns anchors ty + 8·r (r < 8) and candidates
// tx + 16·c (c < 8) of each 64×128 tile: an 8×8 register block, four mat4x4 whose columns are
// vec4×mat4 products. Per vec4 of depth a thread reads 16 vec4s of workgroup memory for 64 dot4s
// (a 4×4 block would read 8 for 16): half the workgroup-memory traffic per FMA. Strided
// ownership keeps those reads conflict-free. SA4 = 2 vec4s of each row are staged at a time.
// Each thread keeps (running max, Σ exp(x − max)) for its eight rows as two vec4 pairs, updated
// once per tile (one exp per element), then the 16 threads of a row merge their states.
//
// Bindings (group 0):
//   0 uniform     params : TileParams
//   1 storage r   U      : array<vec4<f32>>  2N×D4 normalized rows
//   2 storage rw  lse    : array<f32>        2N
//   3 storage rw  lse2   : array<f32>        2N

const NEG_BIG: f32 = -3.0e38; // finite "minus infinity": keeps exp(m_old - m_new) free of NaN
const SROWS: u32 = 64u;       // anchors per workgroup
const SCOLS: u32 = 128u;      // candidates per tile
const SA4: u32 = 2u;          // vec4s of depth staged per step

@group(0) @binding(0) var<uniform> params: TileParams;
@group(0) @binding(1) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse2: array<f32>;

var<workgroup> stage_a: array<vec4<f32>, 128>; // [k][anchor], SA4 × SROWS
var<workgroup> stage_b: array<vec4<f32>, 256>; // [k][candidate], SA4 × SCOLS
// Per (row, tx): (running max, sum); merged across the 16 threads of each row.
var<workgroup> merge_buf: array<vec2<f32>, 1024>;

struct Lse4 {
  m: vec4<f32>,
  s: vec4<f32>,
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

// Online update of four rows' states with a 4×4 block of logits (columns = candidates).
fn update(st: Lse4, x: mat4x4<f32>, v0: vec4<bool>, v1: vec4<bool>, v2: vec4<bool>, v3: vec4<bool>) -> Lse4 {
  let low = vec4<f32>(NEG_BIG);
  let tile_max = max(max(select(low, x[0], v0), select(low, x[1], v1)), max(select(low, x[2], v2), select(low, x[3], v3)));
  let m = max(st.m, tile_max);
  let zero = vec4<f32>(0.0);
  let s = st.s * exp(st.m - m) + select(zero, exp(x[0] - m), v0) + select(zero, exp(x[1] - m), v1)
        + select(zero, exp(x[2] - m), v2) + select(zero, exp(x[3] - m), v3);
  return Lse4(m, s);
}

// Both column halves of one row group, at one inverse temperature.
fn update8(st: Lse4, c0: mat4x4<f32>, c1: mat4x4<f32>, a: vec4<u32>, pa: vec4<u32>, col: u32, inv_t: f32) -> Lse4 {
  let s0 = update(st, c0 * inv_t, negative_mask(a, pa, col), negative_mask(a, pa, col + 16u),
                  negative_mask(a, pa, col + 32u), negative_mask(a, pa, col + 48u));
  return update(s0, c1 * inv_t, negative_mask(a, pa, col + 64u), negative_mask(a, pa, col + 80u),
                negative_mask(a, pa, col + 96u), negative_mask(a, pa, col + 112u));
}

fn stash_rows(st: Lse4, first: u32, tx: u32) {
  merge_buf[first * 16u + tx] = vec2<f32>(st.m.x, st.s.x);
  merge_buf[(first + 8u) * 16u + tx] = vec2<f32>(st.m.y, st.s.y);
  merge_buf[(first + 16u) * 16u + tx] = vec2<f32>(st.m.z, st.s.z);
  merge_buf[(first + 24u) * 16u + tx] = vec2<f32>(st.m.w, st.s.w);
}

fn stash(lo: Lse4, hi: Lse4, ty: u32, tx: u32) {
  stash_rows(lo, ty, tx);
  stash_rows(hi, ty + 32u, tx);
}

// Thread `lid < 64` merges the 16 partial states of row lid and returns its lse.
fn merge_row(lid: u32) -> f32 {
  var m = NEG_BIG;
  for (var t = 0u; t < 16u; t++) { m = max(m, merge_buf[lid * 16u + t].x); }
  var s = 0.0;
  for (var t = 0u; t < 16u; t++) {
    let p = merge_buf[lid * 16u + t];
    s += p.y * exp(p.x - m);
  }
  return m + log(s);
}

@compute @workgroup_size(16, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tx = local.x;
  let ty = local.y;
  let row0 = wg.x * SROWS;
  let a_lo = vec4<u32>(row0 + ty) + vec4<u32>(0u, 8u, 16u, 24u);
  let a_hi = a_lo + vec4<u32>(32u);
  let pa_lo = positives_of(a_lo);
  let pa_hi = positives_of(a_hi);
  let empty = Lse4(vec4<f32>(NEG_BIG), vec4<f32>(0.0));
  var lo = empty;
  var hi = empty;
  var lo2 = empty;
  var hi2 = empty;

  let tiles = (params.two_n + SCOLS - 1u) / SCOLS;
  for (var t = 0u; t < tiles; t++) {
    let dots = block_dots(row0, t * SCOLS, lid, tx, ty);
    let col = t * SCOLS + tx;
    lo = update8(lo, dots.lo_c0, dots.lo_c1, a_lo, pa_lo, col, params.inv_tau);
    hi = update8(hi, dots.hi_c0, dots.hi_c1, a_hi, pa_hi, col, params.inv_tau);
    if (params.dual == 1u) {
      lo2 = update8(lo2, dots.lo_c0, dots.lo_c1, a_lo, pa_lo, col, params.inv_tau2);
      hi2 = update8(hi2, dots.hi_c0, dots.hi_c1, a_hi, pa_hi, col, params.inv_tau2);
    }
  }

  stash(lo, hi, ty, tx);
  workgroupBarrier();
  if (lid < SROWS && row0 + lid < params.two_n) { lse[row0 + lid] = merge_row(lid); }
  if (params.dual == 1u) {
    workgroupBarrier();
    stash(lo2, hi2, ty, tx);
    workgroupBarrier();
    if (lid < SROWS && row0 + lid < params.two_n) { lse2[row0 + lid] = merge_row(lid); }
  }
}
