// bench/gemm.wgsl — tiled GEMM C = U·Uᵀ for the benchmark's "k GEMMs" yardstick (not part of
// the package). U is M×K (M = 2N rows, K = D padded to vec4 columns), C is M×M, both row-major.
//
// Bindings (group 0):
//   0  uniform              params: m = M, k4 = ⌈D/4⌉ (vec4 columns of U)
//   1  storage, read        u: array<vec4<f32>>, M·k4 entries (rows padded with zeros)
//   2  storage, read_write  c: array<f32>, M·M entries; c[i·M + j] = Σ_k U[i,k]·U[j,k]
//
// Math: one workgroup computes a 64×64 tile of C; 16×16 invocations each hold a 4×4 register
// block (16 accumulators). K is walked in slabs of 16 (4 vec4): both 64-row panels of the slab
// are staged in workgroup memory (one vec4 load per invocation per panel), then each invocation
// does 4 × 16 vec4 dot products = 256 FMAs per 8 vec4 reads from workgroup memory.
// Flops: 2·M²·K (every multiply-add counted, the symmetric half included, as a GEMM does).

struct Params {
  m: u32,
  k4: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;   // rows of C per workgroup side
const SLAB4: u32 = 4u;   // vec4 columns of K per slab (16 floats)

var<workgroup> panel_a: array<array<vec4<f32>, 4>, 64>;  // rows of the tile's i block
var<workgroup> panel_b: array<array<vec4<f32>, 4>, 64>;  // rows of the tile's j block

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = params.m;
  let k4 = params.k4;
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  let flat = lid.y * 16u + lid.x;           // 0..255
  let load_row = flat / SLAB4;              // 0..63
  let load_col = flat % SLAB4;              // 0..3

  var acc: array<array<f32, 4>, 4>;
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      acc[i][j] = 0.0;
    }
  }

  for (var s = 0u; s < k4; s += SLAB4) {
    let kc = s + load_col;
    let ra = row0 + load_row;
    let rb = col0 + load_row;
    var va = vec4<f32>(0.0);
    var vb = vec4<f32>(0.0);
    if (ra < m && kc < k4) { va = u[ra * k4 + kc]; }
    if (rb < m && kc < k4) { vb = u[rb * k4 + kc]; }
    panel_a[load_row][load_col] = va;
    panel_b[load_row][load_col] = vb;
    workgroupBarrier();

    for (var kk = 0u; kk < SLAB4; kk++) {
      var a: array<vec4<f32>, 4>;
      var b: array<vec4<f32>, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = panel_a[lid.y * 4u + i][kk];
        b[i] = panel_b[lid.x * 4u + i][kk];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] += dot(a[i], b[j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x * 4u + j;
      if (col < m) { c[r * m + col] = acc[i][j]; }
    }
  }
}
