// normalize_bank.wgsl — L2-normalize the K rows of a negative bank into U after the views.
//
// Math (docs/FORMULAS.md, "Queue negatives"): b_j = B_j / max(|B_j|, 1e-12), stored as row 2N + j of U
// (D4 = ceil(D/4) vec4s, zero-padded past D), so the tile kernels stream bank rows exactly as
// they stream the views'. The bank gets no gradient, so its norms are not kept.
//
// Bindings (group 0):
//   0 uniform     params : BankParams
//   1 storage r   bank   : array<f32>        K×D, row-major (caller's buffer, never written)
//   2 storage rw  U      : array<vec4<f32>>  (2N+K)×D4; only rows [2N, 2N+K) are written here
//
// One workgroup per bank row: 64 threads stride over D, tree reductions give the norm.
//
// Scale safety, as in normalize_rows.wgsl: the row is first scaled by 2^-e, e the exponent of
// its largest |B_jk| (ldexp: exact), its sum of squares taken there, so every norm f32 can hold
// gives a unit row, and no row goes through a subnormal 1/|B_j|.

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

// Tree reduction of one value per thread: the sum (or the max) over the workgroup.
fn reduce(lid: u32, value: f32, take_max: bool) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let other = partial[lid + stride];
      partial[lid] = select(partial[lid] + other, max(partial[lid], other), take_max);
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier(); // partial is reused by the next reduction
  return total;
}

fn max4(v: vec4<f32>) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }

// frexp(x).exp from the bits, as in normalize_rows.wgsl (the race-check interpreter lacks the
// struct-returning builtin): 2^(e−1) ≤ |x| < 2^e for normal x; 0 and subnormals give −126.
fn exponent_of(x: f32) -> i32 { return i32((bitcast<u32>(x) >> 23u) & 0xffu) - 126; }

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

  var big = 0.0;
  for (var k = lid; k < params.d4; k += WG) { big = max(big, max4(abs(load4(j, k)))); }
  // 2^-(shift+1) ≤ largest |B_jk| < 2^-shift.
  let shift = -exponent_of(reduce(lid, big, true));
  var ss = 0.0;
  for (var k = lid; k < params.d4; k += WG) {
    let b = ldexp(load4(j, k), vec4<i32>(shift));
    ss += dot(b, b);
  }
  let root = sqrt(reduce(lid, ss, false)); // |B_j|·2^shift
  // b = B / max(|B|, 1e-12) as ldexp(B, sh)·mult: below 1e-12 the constant divisor (docs/FORMULAS.md).
  let clamped = ldexp(root, -shift) < MIN_NORM;
  let mult = select(1.0 / root, 1.0 / MIN_NORM, clamped);
  let sh = select(shift, 0, clamped);
  let base = (params.first_row + j) * params.d4;
  for (var k = lid; k < params.d4; k += WG) { U[base + k] = ldexp(load4(j, k), vec4<i32>(sh)) * mult; }
}
