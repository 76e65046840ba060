// anchor_stats.wgsl — forward pass: per-anchor log-sum-exp over the negatives.
// Prepended with similarity_tile.wgsl.
//
// Math (MATH.md): S_ab = u_a·u_b / τ. For every anchor a in [0, 2N):
//   lse[a]  = log Σ_{b∈neg(a)} exp(S_ab)                (online running max: any τ > 0 is safe)
//   lse2[a] = log Σ_{b∈neg(a)} exp(u_a·u_b / (τ·m))     (dualtemp only; else left untouched)
// Nothing N×N is stored: each workgroup owns 64 anchors and streams every candidate tile.
// Each thread keeps (running max, Σ exp(x − max)) for its four rows as vec4s, updated once per
// tile (one exp per element), then the 16 threads of a row merge their states.
//
// Bindings (group 0):
//   0 uniform     params : TileParams
//   1 storage r   U      : array<vec4<f32>>  2N×D4 normalized rows
//   2 storage rw  lse    : array<f32>        2N
//   3 storage rw  lse2   : array<f32>        2N

const NEG_BIG: f32 = -3.0e38; // finite "minus infinity": keeps exp(m_old - m_new) free of NaN

@group(0) @binding(0) var<uniform> params: TileParams;
@group(0) @binding(1) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse2: array<f32>;

// Per (row, tx): (running max, sum); merged across the 16 threads of each row.
var<workgroup> merge_buf: array<vec2<f32>, 1024>;

struct Lse4 {
  m: vec4<f32>,
  s: vec4<f32>,
}

// Online update of four rows' states with one tile's 4×4 block of logits.
fn update(st: Lse4, x: mat4x4<f32>, v0: vec4<bool>, v1: vec4<bool>, v2: vec4<bool>, v3: vec4<bool>) -> Lse4 {
  let low = vec4<f32>(NEG_BIG);
  let tile_max = max(max(select(low, x[0], v0), select(low, x[1], v1)), max(select(low, x[2], v2), select(low, x[3], v3)));
  let m = max(st.m, tile_max);
  let zero = vec4<f32>(0.0);
  let s = st.s * exp(st.m - m) + select(zero, exp(x[0] - m), v0) + select(zero, exp(x[1] - m), v1)
        + select(zero, exp(x[2] - m), v2) + select(zero, exp(x[3] - m), v3);
  return Lse4(m, s);
}

fn stash(st: Lse4, ty: u32, tx: u32) {
  merge_buf[ty * 16u + tx] = vec2<f32>(st.m.x, st.s.x);
  merge_buf[(ty + 16u) * 16u + tx] = vec2<f32>(st.m.y, st.s.y);
  merge_buf[(ty + 32u) * 16u + tx] = vec2<f32>(st.m.z, st.s.z);
  merge_buf[(ty + 48u) * 16u + tx] = vec2<f32>(st.m.w, st.s.w);
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

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tx = local.x;
  let ty = local.y;
  let row0 = wg.x * TILE;
  let a = rows_of(row0, ty);
  let pa = positives_of(a);
  var st = Lse4(vec4<f32>(NEG_BIG), vec4<f32>(0.0));
  var st2 = st;

  let tiles = (params.two_n + TILE - 1u) / TILE;
  for (var t = 0u; t < tiles; t++) {
    let col0 = t * TILE + tx;
    let dots = tile_dots(row0, t * TILE, lid, tx, ty);
    let v0 = negative_mask(a, pa, col0);
    let v1 = negative_mask(a, pa, col0 + 16u);
    let v2 = negative_mask(a, pa, col0 + 32u);
    let v3 = negative_mask(a, pa, col0 + 48u);
    st = update(st, dots * params.inv_tau, v0, v1, v2, v3);
    if (params.dual == 1u) { st2 = update(st2, dots * params.inv_tau2, v0, v1, v2, v3); }
  }

  stash(st, ty, tx);
  workgroupBarrier();
  if (lid < TILE && row0 + lid < params.two_n) { lse[row0 + lid] = merge_row(lid); }
  if (params.dual == 1u) {
    workgroupBarrier();
    stash(st2, ty, tx);
    workgroupBarrier();
    if (lid < TILE && row0 + lid < params.two_n) { lse2[row0 + lid] = merge_row(lid); }
  }
}
