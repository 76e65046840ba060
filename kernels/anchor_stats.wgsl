// anchor_stats.wgsl — forward pass: per-anchor log-sum-exp over negatives, and the positives.
// Prepended with similarity_tile.wgsl.
//
// Math (MATH.md): S_ab = u_a·u_b / τ. For every anchor a in [0, 2N):
//   lse[a]  = log Σ_{b∈neg(a)} exp(S_ab)                (online running max: any τ > 0 is safe)
//   lse2[a] = log Σ_{b∈neg(a)} exp(u_a·u_b / (τ·m))     (dualtemp only; else left untouched)
//   cos_pos[a] = u_a · u_p(a)
// Nothing N×N is stored: each workgroup owns BM anchors and streams every candidate tile.
//
// Bindings (group 0):
//   0 uniform     params  : TileParams
//   1 storage r   U       : array<vec4<f32>>  2N×D4 normalized rows
//   2 storage rw  lse     : array<f32>        2N
//   3 storage rw  lse2    : array<f32>        2N
//   4 storage rw  cos_pos : array<f32>        2N

const BM: u32 = 64u;
const BN: u32 = 64u;
const TM: u32 = 4u;
const TN: u32 = 4u;
const BK4: u32 = 4u;
const NEG_BIG: f32 = -3.0e38; // finite "minus infinity": keeps exp(m_old - m_new) free of NaN

@group(0) @binding(0) var<uniform> params: TileParams;
@group(0) @binding(1) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse2: array<f32>;
@group(0) @binding(4) var<storage, read_write> cos_pos: array<f32>;

// (running max, sum of exp(x - max)) per (row, tx), merged across the 16 threads of a row.
var<workgroup> merge_buf: array<vec2<f32>, BM * 16u>;

fn online_add(state: vec2<f32>, x: f32) -> vec2<f32> {
  if (x > state.x) { return vec2<f32>(x, state.y * exp(state.x - x) + 1.0); }
  return vec2<f32>(state.x, state.y + exp(x - state.x));
}

// Merges the 16 partial states of each row; thread `lid < BM` returns its row's lse.
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

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tx = local.x;
  let ty = local.y;
  let row0 = wg.x * BM;
  var st: array<vec2<f32>, TM>;
  var st2: array<vec2<f32>, TM>;
  for (var r = 0u; r < TM; r++) {
    st[r] = vec2<f32>(NEG_BIG, 0.0);
    st2[r] = vec2<f32>(NEG_BIG, 0.0);
  }

  let tiles = (params.two_n + BN - 1u) / BN;
  for (var t = 0u; t < tiles; t++) {
    let col0 = t * BN;
    let acc = tile_dots(row0, col0, lid, tx, ty);
    for (var r = 0u; r < TM; r++) {
      let a = row0 + ty + 16u * r;
      for (var c = 0u; c < TN; c++) {
        let b = col0 + tx + 16u * c;
        if (a < params.two_n && b == positive_of(a)) { cos_pos[a] = acc[r][c]; }
        if (is_negative(a, b)) {
          st[r] = online_add(st[r], acc[r][c] * params.inv_tau);
          if (params.dual == 1u) { st2[r] = online_add(st2[r], acc[r][c] * params.inv_tau2); }
        }
      }
    }
  }

  for (var r = 0u; r < TM; r++) { merge_buf[(ty + 16u * r) * 16u + tx] = st[r]; }
  workgroupBarrier();
  if (lid < BM && row0 + lid < params.two_n) { lse[row0 + lid] = merge_row(lid); }
  if (params.dual == 1u) {
    workgroupBarrier();
    for (var r = 0u; r < TM; r++) { merge_buf[(ty + 16u * r) * 16u + tx] = st2[r]; }
    workgroupBarrier();
    if (lid < BM && row0 + lid < params.two_n) { lse2[row0 + lid] = merge_row(lid); }
  }
}
