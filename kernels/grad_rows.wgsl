// grad_rows.wgsl — backward pass: ∂L/∂U row by row, recomputing similarity tiles.
// Prepended with similarity_tile.wgsl.
//
// Math (MATH.md, "one backward rule"), with coef_c[a] = scale·c_a and pos_coef[a] holding the
// whole positive-pair coefficient (−scale·(β_a + β_p(a)), plus the DCLW weight-gradient term):
//   gU_k = Σ_{b∈neg(k)} (coef_c[k]·e^{S_kb − lse_k} + coef_c[b]·e^{S_kb − lse_b}) · U_b
//          + pos_coef[k] · U_p(k)
// Both exponents are ≤ 0 since lse_k ≥ S_kb for every negative b (and b∈neg(k) ⇔ k∈neg(b)).
// Each workgroup owns BM gradient rows × d4_per_group vec4 columns, so no atomics and no N×N
// buffer; the result is deterministic. dualtemp uses the same rule with its cross-view mask.
//
// Bindings (group 0):
//   0 uniform     params   : TileParams
//   1 storage r   U        : array<vec4<f32>>  2N×D4
//   2 storage r   lse      : array<f32>        2N
//   3 storage r   coef_c   : array<f32>        2N
//   4 storage r   pos_coef : array<f32>        2N
//   5 storage rw  gU       : array<vec4<f32>>  2N×D4

const BM: u32 = 32u;
const BN: u32 = 32u;
const TM: u32 = 2u;
const TN: u32 = 2u;
const BK4: u32 = 4u;
const DV: u32 = 2u;   // gradient vec4 columns per thread: d4_per_group = 16·DV
const BU: u32 = 8u;   // candidate rows of U staged at a time for the W·U product

@group(0) @binding(0) var<uniform> params: TileParams;
@group(0) @binding(1) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> coef_c: array<f32>;
@group(0) @binding(4) var<storage, read> pos_coef: array<f32>;
@group(0) @binding(5) var<storage, read_write> gU: array<vec4<f32>>;

var<workgroup> w_tile: array<f32, BM * BN>;            // W[row][col] of the current tile
var<workgroup> u_tile: array<vec4<f32>, BU * 16u * DV>; // BU candidate rows × this group's columns

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tx = local.x;
  let ty = local.y;
  let row0 = wg.x * BM;
  let k0 = wg.y * 16u * DV; // first gradient vec4 column of this workgroup

  var my_lse: array<f32, TM>;
  var my_c: array<f32, TM>;
  for (var r = 0u; r < TM; r++) {
    let a = min(row0 + ty + 16u * r, params.two_n - 1u);
    my_lse[r] = lse[a];
    my_c[r] = coef_c[a];
  }
  var g: array<array<vec4<f32>, DV>, TM>;

  let tiles = (params.two_n + BN - 1u) / BN;
  for (var t = 0u; t < tiles; t++) {
    let col0 = t * BN;
    let acc = tile_dots(row0, col0, lid, tx, ty);
    for (var c = 0u; c < TN; c++) {
      let b = col0 + tx + 16u * c;
      let bb = min(b, params.two_n - 1u);
      let lse_b = lse[bb];
      let c_b = coef_c[bb];
      for (var r = 0u; r < TM; r++) {
        let a = row0 + ty + 16u * r;
        var w = 0.0;
        if (is_negative(a, b)) {
          let s = acc[r][c] * params.inv_tau;
          w = my_c[r] * exp(s - my_lse[r]) + c_b * exp(s - lse_b);
        }
        w_tile[(ty + 16u * r) * BN + tx + 16u * c] = w;
      }
    }
    workgroupBarrier();
    for (var j0 = 0u; j0 < BN; j0 += BU) {
      // 256 threads stage BU rows × 16·DV vec4 columns (= 256 vec4s) of U.
      let sr = lid / (16u * DV);
      let sc = lid % (16u * DV);
      u_tile[lid] = load_u(col0 + j0 + sr, k0 + sc);
      workgroupBarrier();
      for (var j = 0u; j < BU; j++) {
        for (var r = 0u; r < TM; r++) {
          let w = w_tile[(ty + 16u * r) * BN + j0 + j];
          for (var v = 0u; v < DV; v++) { g[r][v] += w * u_tile[j * 16u * DV + tx + 16u * v]; }
        }
      }
      workgroupBarrier();
    }
  }

  for (var r = 0u; r < TM; r++) {
    let a = row0 + ty + 16u * r;
    if (a < params.two_n) {
      let pc = pos_coef[a];
      let p = positive_of(a);
      for (var v = 0u; v < DV; v++) {
        let k = k0 + tx + 16u * v;
        if (k < params.d4) { gU[a * params.d4 + k] = g[r][v] + pc * U[p * params.d4 + k]; }
      }
    }
  }
}
