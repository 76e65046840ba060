// normalize_rows.wgsl — L2-normalize the rows of both views into one padded matrix U.
//
// Math (MATH.md): u_k = z_k / max(|z_k|, 1e-12), U = [u1; u2] (2N rows). Rows are stored as
// D4 = ceil(D/4) vec4s, zero-padded past D, so later passes load whole vec4s.
//
// Bindings (group 0):
//   0 uniform     params  : NormParams
//   1 storage r   z1      : array<f32>        N×D, row-major (caller's buffer, never written)
//   2 storage r   z2      : array<f32>        N×D
//   3 storage rw  U       : array<vec4<f32>>  2N×D4
//   4 storage rw  norms   : array<f32>        2N, |z_k| (the backward pass needs it)
//
// One workgroup per row: 64 threads stride over D, then a tree reduction in workgroup memory.

struct NormParams {
  n: u32,
  d: u32,
  d4: u32,
  rows_per_slice: u32, // workgroups along x; row = wg.y * rows_per_slice + wg.x
}

@group(0) @binding(0) var<uniform> params: NormParams;
@group(0) @binding(1) var<storage, read> z1: array<f32>;
@group(0) @binding(2) var<storage, read> z2: array<f32>;
@group(0) @binding(3) var<storage, read_write> U: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> norms: array<f32>;

const WG: u32 = 64u;
const MIN_NORM: f32 = 1e-12;
var<workgroup> partial: array<f32, WG>;

fn z_at(row: u32, col: u32) -> f32 {
  if (col >= params.d) { return 0.0; }
  if (row < params.n) { return z1[row * params.d + col]; }
  return z2[(row - params.n) * params.d + col];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * params.rows_per_slice + wg.x;
  if (row >= 2u * params.n) { return; } // whole workgroup leaves together

  var ss = 0.0;
  for (var c = lid; c < params.d; c += WG) {
    let v = z_at(row, c);
    ss += v * v;
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let norm = sqrt(partial[0]);
  let inv = 1.0 / max(norm, MIN_NORM);
  for (var k = lid; k < params.d4; k += WG) {
    let c = 4u * k;
    U[row * params.d4 + k] = vec4<f32>(z_at(row, c), z_at(row, c + 1u), z_at(row, c + 2u), z_at(row, c + 3u)) * inv;
  }
  if (lid == 0u) { norms[row] = norm; }
}
