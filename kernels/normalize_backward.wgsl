// normalize_backward.wgsl — chain ∂L/∂U through the row normalization to ∂L/∂z1, ∂L/∂z2.
//
// Math (docs/FORMULAS.md): gz_k = (gu_k − u_k (u_k · gu_k)) / |z_k|; when |z_k| < 1e-12 the divisor is
// the constant 1e-12 and there is no projection. gu_k is the sum of grad_rows' `grad_slices`
// slices of gU (one per candidate chunk), added in slice order as they are read: the split
// backward's reduction, with no pass or buffer of its own.
//
// Bindings (group 0):
//   0 uniform     params : NormParams (same layout as normalize_rows.wgsl)
//   1 storage r   U      : array<vec4<f32>>  (2N+K)×D4; only the 2N view rows are read
//   2 storage r   gU     : array<vec4<f32>>  (2N + (grad_slices − 1)·slice_rows)×D4
//   3 storage r   norms  : array<f32>        2N
//   4 storage rw  gz1    : array<f32>        N×D
//   5 storage rw  gz2    : array<f32>        N×D
//
// One workgroup per row: 64 threads reduce u·gu, then write the row.
// 1/|z| is applied as (1/m)·2^-e with |z| = m·2^e, m ∈ [0.5, 1) (bits and ldexp, exact scaling),
// so a row norm up to f32's 3.4e38 never goes through a subnormal reciprocal; for ordinary
// rows it is bit for bit the plain ·(1/|z|).

struct NormParams {
  n: u32,
  d: u32,
  d4: u32,
  rows_per_slice: u32,
  grad_slices: u32, // slices of gU to add (grad_rows' candidate chunks)
  slice_rows: u32,  // rows of each slice past the first: the loss's anchors (2N, or N in bank form)
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> params: NormParams;
@group(0) @binding(1) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gU: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> gz1: array<f32>;
@group(0) @binding(5) var<storage, read_write> gz2: array<f32>;

const WG: u32 = 64u;
const MIN_NORM: f32 = 1e-12;
var<workgroup> partial: array<f32, WG>;

// gu at vec4 `k` of row `row`: the slices' sum, in slice order. Slice 0 holds the 2N rows,
// each later one the first `slice_rows` rows (grad_rows.wgsl).
fn grad_u(row: u32, k: u32) -> vec4<f32> {
  let at = row * params.d4 + k;
  var g = gU[at];
  if (row < params.slice_rows) {
    let first = 2u * params.n * params.d4;
    let stride = params.slice_rows * params.d4;
    for (var c = 1u; c < params.grad_slices; c++) { g += gU[first + (c - 1u) * stride + at]; }
  }
  return g;
}

fn write_gz(row: u32, col: u32, v: f32) {
  if (col >= params.d) { return; }
  if (row < params.n) { gz1[row * params.d + col] = v; } else { gz2[(row - params.n) * params.d + col] = v; }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * params.rows_per_slice + wg.x;
  if (row >= 2u * params.n) { return; }
  let base = row * params.d4;

  var acc = 0.0;
  for (var k = lid; k < params.d4; k += WG) { acc += dot(U[base + k], grad_u(row, k)); }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let norm = norms[row];
  let clamped = norm < MIN_NORM;
  let project = select(partial[0], 0.0, clamped);
  // |z| = m·2^e from the bits (normal: clamped rows do not use it), m ∈ [0.5, 1).
  let bits = bitcast<u32>(norm);
  let m = bitcast<f32>((bits & 0x807fffffu) | 0x3f000000u);
  let e = i32((bits >> 23u) & 0xffu) - 126;
  let inv = select(1.0 / m, 1.0 / MIN_NORM, clamped);
  let shift = vec4<i32>(select(-e, 0, clamped));
  for (var k = lid; k < params.d4; k += WG) {
    let g = ldexp((grad_u(row, k) - U[base + k] * project) * inv, shift);
    let c = 4u * k;
    write_gz(row, c, g.x);
    write_gz(row, c + 1u, g.y);
    write_gz(row, c + 2u, g.z);
    write_gz(row, c + 3u, g.w);
  }
}
