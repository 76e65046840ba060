// normalize_rows.wgsl — L2-normalize both views into one padded matrix U, and the pair statistics.
//
// Math (docs/FORMULAS.md): u_k = z_k / max(|z_k|, 1e-12), U = [u1; u2] (rows 0..2N of U; a bank, if any,
// follows in rows 2N.. from normalize_bank.wgsl), and per pair i
//   pair[i].x = u1_i · u2_i        the positive cosine (s⁺ = pair.x/τ for anchors i and i+N)
//   pair[i].y = ‖u1_i − u2_i‖²     alignment's term, summed from the differences (no 2 − 2cos
//                                  cancellation for near-identical views)
// Rows are stored as D4 = ceil(D/4) vec4s, zero-padded past D, so later passes load whole vec4s.
//
// Bindings (group 0):
//   0 uniform     params  : NormParams
//   1 storage r   z1      : array<f32>        N×D, row-major (caller's buffer, never written)
//   2 storage r   z2      : array<f32>        N×D
//   3 storage rw  U       : array<vec4<f32>>  2N×D4
//   4 storage rw  norms   : array<f32>        2N, |z_k| (the backward pass needs it)
//   5 storage rw  pair    : array<vec2<f32>>  N, (u1_i·u2_i, ‖u1_i − u2_i‖²)
//
// One workgroup per pair (z1_i, z2_i): 64 threads stride over D; tree reductions in
// workgroup memory give both norms, then the dot and the squared distance of the normalized
// rows as written.
//
// Scale safety: the f32 sum of squares overflows for |z| ≳ 1.8e19 and underflows for tiny
// rows, so each row is first scaled by 2^-e, e the binary exponent of its largest |z_k| (ldexp:
// exact, no rounding), its sum of squares taken there (largest term in [0.25, 1)), and
// |z| = 2^e·√Σ. Every row norm f32 can hold (up to 3.4e38) then gives the unit row it should,
// and a row with |z| ≥ 1e-12 is written as ldexp(z, −e)/√Σ, never through a subnormal 1/|z|.
// For ordinary rows this is bit for bit the old z·(1/|z|): power-of-two scaling is exact.
// It costs one more read of the row (a max pass): O(N·D), small beside the O(N²·D) tiles.

struct NormParams {
  n: u32,
  d: u32,
  d4: u32,
  rows_per_slice: u32, // workgroups along x; row = wg.y * rows_per_slice + wg.x
  grad_slices: u32,    // normalize_backward's (same struct); unused here
  slice_rows: u32,     // likewise
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> params: NormParams;
@group(0) @binding(1) var<storage, read> z1: array<f32>;
@group(0) @binding(2) var<storage, read> z2: array<f32>;
@group(0) @binding(3) var<storage, read_write> U: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> norms: array<f32>;
@group(0) @binding(5) var<storage, read_write> pair: array<vec2<f32>>;

const WG: u32 = 64u;
const MIN_NORM: f32 = 1e-12;
var<workgroup> partial: array<vec2<f32>, WG>;
var<workgroup> partial_max: array<vec2<f32>, WG>;

// Four consecutive values of row `row` of view z1 (view 0) or z2 (view 1), zero past D.
fn load4(view: u32, row: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let c = 4u * k;
  let base = row * params.d + c;
  for (var j = 0u; j < 4u; j++) {
    if (c + j < params.d) {
      if (view == 0u) { v[j] = z1[base + j]; } else { v[j] = z2[base + j]; }
    }
  }
  return v;
}

fn reduce(lid: u32, value: vec2<f32>) -> vec2<f32> {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier(); // partial is reused by the next reduction
  return total;
}

fn reduce_max(lid: u32, value: vec2<f32>) -> vec2<f32> {
  partial_max[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial_max[lid] = max(partial_max[lid], partial_max[lid + stride]); }
    workgroupBarrier();
  }
  let total = partial_max[0];
  workgroupBarrier();
  return total;
}

fn max4(v: vec4<f32>) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }

// frexp(x).exp from the bits (no struct-returning builtin: the race-check interpreter lacks
// one): 2^(e−1) ≤ |x| < 2^e for normal x; 0 and subnormals give −126, so their rows are
// scaled up by 2^126, still exactly.
fn exponent_of(x: vec2<f32>) -> vec2<i32> { return vec2<i32>((bitcast<vec2<u32>>(x) >> vec2<u32>(23u)) & vec2<u32>(0xffu)) - vec2<i32>(126); }

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wg.y * params.rows_per_slice + wg.x;
  if (i >= params.n) { return; } // whole workgroup leaves together

  var big = vec2<f32>(0.0);
  for (var k = lid; k < params.d4; k += WG) {
    big = max(big, vec2<f32>(max4(abs(load4(0u, i, k))), max4(abs(load4(1u, i, k)))));
  }
  // 2^-(shift+1) ≤ largest |z_k| < 2^-shift.
  let shift = -exponent_of(reduce_max(lid, big));
  var ss = vec2<f32>(0.0);
  for (var k = lid; k < params.d4; k += WG) {
    let a = ldexp(load4(0u, i, k), vec4<i32>(shift.x));
    let b = ldexp(load4(1u, i, k), vec4<i32>(shift.y));
    ss += vec2<f32>(dot(a, a), dot(b, b));
  }
  let root = sqrt(reduce(lid, ss)); // |z|·2^shift
  let nrm = ldexp(root, -shift);
  // u = z / max(|z|, 1e-12) as ldexp(z, sh)·mult: below 1e-12 the constant divisor (docs/FORMULAS.md).
  let clamped = nrm < vec2<f32>(MIN_NORM);
  let mult = select(1.0 / root, vec2<f32>(1.0 / MIN_NORM), clamped);
  let sh = select(shift, vec2<i32>(0), clamped);
  var cos_dist = vec2<f32>(0.0);
  for (var k = lid; k < params.d4; k += WG) {
    let a = ldexp(load4(0u, i, k), vec4<i32>(sh.x)) * mult.x;
    let b = ldexp(load4(1u, i, k), vec4<i32>(sh.y)) * mult.y;
    U[i * params.d4 + k] = a;
    U[(i + params.n) * params.d4 + k] = b;
    let diff = a - b;
    cos_dist += vec2<f32>(dot(a, b), dot(diff, diff));
  }
  let c = reduce(lid, cos_dist);
  if (lid == 0u) {
    norms[i] = nrm.x;
    norms[i + params.n] = nrm.y;
    pair[i] = c;
  }
}
