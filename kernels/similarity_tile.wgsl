// similarity_tile.wgsl — shared code, prepended to anchor_stats.wgsl and grad_rows.wgsl.
//
// A workgroup of 16×16 threads computes a 64×64 tile of cosine similarities u_a·u_b between
// anchor rows [row0, row0+64) and candidate rows [col0, col0+64) of U, staging BK4 = 4 vec4s of
// each row at a time in workgroup memory (one coalesced vec4 load per thread per operand).
// Thread (tx, ty) owns rows ty + 16·r and columns tx + 16·c (r, c < 4): strided ownership keeps
// workgroup-memory reads conflict-free. The 4×4 block is kept in registers as a mat4x4 whose
// column c holds the four rows' dots with candidate c, computed as vec4×mat4 products (16 FMAs).
//
// Candidate masks (MATH.md): p(a) = (a + N) mod 2N; neg(a) = all b ≠ a, p(a) for the
// symmetric losses; for dualtemp only the other view's rows (b ≠ p(a)).
// The including kernel binds `params: TileParams` and `U`.

struct TileParams {
  n: u32,        // N
  two_n: u32,    // 2N, rows of U
  d4: u32,       // vec4s per row of U
  dual: u32,     // 1 = dualtemp mask (cross-view candidates only)
  inv_tau: f32,  // 1/τ
  inv_tau2: f32, // 1/(τ·m), dualtemp's second temperature
  pad0: u32,
  pad1: u32,
}

const TILE: u32 = 64u;
const BK4: u32 = 4u;
const ROW_STRIDE = vec4<u32>(0u, 16u, 32u, 48u);

var<workgroup> tile_a: array<vec4<f32>, 256>; // [k][row], BK4 × TILE
var<workgroup> tile_b: array<vec4<f32>, 256>; // [k][col]

fn load_u(row: u32, k: u32) -> vec4<f32> {
  if (row < params.two_n && k < params.d4) { return U[row * params.d4 + k]; }
  return vec4<f32>(0.0);
}

// The four rows a = row0 + ty + 16·r a thread owns, and their positives.
fn rows_of(row0: u32, ty: u32) -> vec4<u32> { return vec4<u32>(row0 + ty) + ROW_STRIDE; }
fn positives_of(a: vec4<u32>) -> vec4<u32> {
  return select(a + vec4<u32>(params.n), a - vec4<u32>(params.n), a >= vec4<u32>(params.n));
}

// Which of the four anchors `a` (positives `pa`) have candidate b as a negative.
fn negative_mask(a: vec4<u32>, pa: vec4<u32>, b: u32) -> vec4<bool> {
  let bv = vec4<u32>(b);
  var ok = (a < vec4<u32>(params.two_n)) & (bv != a) & (bv != pa) & vec4<bool>(b < params.two_n);
  if (params.dual == 1u) { ok = ok & ((a < vec4<u32>(params.n)) != vec4<bool>(b < params.n)); }
  return ok;
}

// Column c of the result = (u_{a_r} · u_{col0+tx+16c}) for r = 0..3. Uniform control flow only.
fn tile_dots(row0: u32, col0: u32, lid: u32, tx: u32, ty: u32) -> mat4x4<f32> {
  var acc = mat4x4<f32>();
  // Consecutive threads load consecutive vec4s of one row: coalesced.
  let lr = lid / BK4;
  let lk = lid % BK4;
  for (var k0 = 0u; k0 < params.d4; k0 += BK4) {
    tile_a[lk * TILE + lr] = load_u(row0 + lr, k0 + lk);
    tile_b[lk * TILE + lr] = load_u(col0 + lr, k0 + lk);
    workgroupBarrier();
    for (var k = 0u; k < BK4; k++) {
      let base = k * TILE;
      let a = mat4x4<f32>(tile_a[base + ty], tile_a[base + ty + 16u], tile_a[base + ty + 32u], tile_a[base + ty + 48u]);
      acc[0] += tile_b[base + tx] * a;
      acc[1] += tile_b[base + tx + 16u] * a;
      acc[2] += tile_b[base + tx + 32u] * a;
      acc[3] += tile_b[base + tx + 48u] * a;
    }
    workgroupBarrier();
  }
  return acc;
}
