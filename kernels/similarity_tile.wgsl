// similarity_tile.wgsl — shared code, prepended to anchor_stats.wgsl and grad_rows.wgsl.
//
// A workgroup of 16×16 threads computes a BM×BN tile of cosine similarities u_a·u_b between
// anchor rows [row0, row0+BM) and candidate rows [col0, col0+BN) of U, staging BK4 vec4s of
// each row at a time in workgroup memory. Thread (tx, ty) owns rows ty + 16·r (r < TM) and
// columns tx + 16·c (c < TN): strided ownership keeps workgroup-memory reads conflict-free.
// The including kernel defines BM, BN, TM, TN, BK4, binds `params` and `U`.
//
// Candidate masks (MATH.md): p(a) = (a + N) mod 2N; neg(a) = all b ≠ a, p(a) for the
// symmetric losses; for dualtemp only the other view's rows (b ≠ p(a)).

struct TileParams {
  n: u32,        // N
  two_n: u32,    // 2N, rows of U
  d4: u32,       // vec4s per row of U
  dual: u32,     // 1 = dualtemp mask (cross-view candidates only)
  inv_tau: f32,  // 1/τ
  inv_tau2: f32, // 1/(τ·m), dualtemp's second temperature
  d4_per_group: u32, // grad_rows only: vec4 columns of the gradient per workgroup
  pad: u32,
}

var<workgroup> tile_a: array<vec4<f32>, BK4 * BM>; // [k][row]
var<workgroup> tile_b: array<vec4<f32>, BK4 * BN>; // [k][col]

fn positive_of(a: u32) -> u32 {
  return select(a + params.n, a - params.n, a >= params.n);
}

fn is_negative(a: u32, b: u32) -> bool {
  if (a >= params.two_n || b >= params.two_n || a == b || b == positive_of(a)) { return false; }
  if (params.dual == 1u) { return (a < params.n) != (b < params.n); }
  return true;
}

fn load_u(row: u32, k: u32) -> vec4<f32> {
  if (row < params.two_n && k < params.d4) { return U[row * params.d4 + k]; }
  return vec4<f32>(0.0);
}

// Returns acc[r][c] = u_{row0+ty+16r} · u_{col0+tx+16c}. Must be called in uniform control flow.
fn tile_dots(row0: u32, col0: u32, lid: u32, tx: u32, ty: u32) -> array<array<f32, TN>, TM> {
  var acc: array<array<f32, TN>, TM>;
  for (var k0 = 0u; k0 < params.d4; k0 += BK4) {
    // Consecutive threads load consecutive vec4s of one row: coalesced.
    for (var i = lid; i < BK4 * BM; i += 256u) {
      tile_a[(i % BK4) * BM + i / BK4] = load_u(row0 + i / BK4, k0 + i % BK4);
    }
    for (var i = lid; i < BK4 * BN; i += 256u) {
      tile_b[(i % BK4) * BN + i / BK4] = load_u(col0 + i / BK4, k0 + i % BK4);
    }
    workgroupBarrier();
    for (var k = 0u; k < BK4; k++) {
      var a: array<vec4<f32>, TM>;
      for (var r = 0u; r < TM; r++) { a[r] = tile_a[k * BM + ty + 16u * r]; }
      for (var c = 0u; c < TN; c++) {
        let b = tile_b[k * BN + tx + 16u * c];
        for (var r = 0u; r < TM; r++) { acc[r][c] += dot(a[r], b); }
      }
    }
    workgroupBarrier();
  }
  return acc;
}
