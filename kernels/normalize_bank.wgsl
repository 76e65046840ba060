// normalize_bank.wgsl — L2-normalize the K rows of a negative bank into U after the views.
//
// Math (MATH.md, "Queue negatives"): b_j = B_j / max(|B_j|, 1e-12), stored as row 2N + j of U
// (D4 = ceil(D/4) vec4s, zero-padded past D), so the tile kernels stream bank rows exactly as
// they stream the views'. The bank gets no gradient, so its norms are not kept.
//
// Bindings (group 0):
//   0 uniform     params : BankParams
//   1 storage r   bank   : array<f32>        K×D, row-major (caller's buffer, never written)
//   2 storage rw  U      : array<vec4<f32>>  (2N+K)×D4; only rows [2N, 2N+K) are written here
//
// One workgroup per bank row: 64 threads stride over D, a tree reduction gives the norm.

struct BankParams {
  k: u32,              // bank rows K
  d: u32,
  d4: u32,
  rows_per_slice: u32, // workgroups along x; bank row = wg.y * rows_per_slice + wg.x
  first_row: u32,      // 2N: row of U that bank row 0 goes to
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> params: BankParams;
@group(0) @binding(1) var<storage, read> bank: array<f32>;
@group(0) @binding(2) var<storage, read_write> U: array<vec4<f32>>;

const WG: u32 = 64u;
const MIN_NORM: f32 = 1e-12;
var<workgroup> partial: array<f32, WG>;

// Four consecutive values of bank row `row`, zero past D.
fn load4(row: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let c = 4u * k;
  let base = row * params.d + c;
  for (var j = 0u; j < 4u; j++) {
    if (c + j < params.d) { v[j] = bank[base + j]; }
  }
  return v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wg.y * params.rows_per_slice + wg.x;
  if (j >= params.k) { return; } // whole workgroup leaves together

  var ss = 0.0;
  for (var k = lid; k < params.d4; k += WG) {
    let b = load4(j, k);
    ss += dot(b, b);
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let inv = 1.0 / max(sqrt(partial[0]), MIN_NORM);
  let base = (params.first_row + j) * params.d4;
  for (var k = lid; k < params.d4; k += WG) { U[base + k] = load4(j, k) * inv; }
}
