// anchor_stats_merge.wgsl — forward pass, second half: combine each anchor's partial online
// states from anchor_stats.wgsl's chunks into its statistics, as the online log-sum-exp does.
// Prepended with tile_params.wgsl (TileParams, the candidate axis and its chunks).
//
// Math (docs/FORMULAS.md): over the chunks c of row a, in chunk order (deterministic),
//   M = max_c M_c,  S = Σ_c S_c·exp(M_c − M),  T = Σ_c T_c·exp(M_c − M)   (likewise M2/S2, Mu/Su)
//   stats[a].x = lse_a − 1/τ = (M − 1/τ) + log S   the excess over the largest possible logit
//                1/τ: ℓ = lse − s⁺ cancels terms of size 1/τ, and near the cap (near-duplicate
//                rows, D = 1, identical views) this keeps f32's resolution of ℓ, not of 1/τ
//   stats[a].y = log Σ_{b∈neg(a)} exp(u_a·u_b / (τ·m)) = M2 + log S2     (SECOND_TEMPERATURE; else 0)
//   stats[a].z = Σ_{b∈neg(a)} softmax_a(b)·S_ab = T / S                   (SOFTMAX_MEAN; else 0)
//   stats[a].w = log Σ_{b same view, b≠a} exp(−2‖u_a − u_b‖²) = Mu + log Su − 2q_a (UNIFORMITY; else 0)
// Rows a ≥ `anchors` (u2 rows in bank form) get 0 in x, y, z.
// The third wave (TileParams.loss_form; anchor_stats.wgsl's partial layouts):
//   SUPCON_FORM  stats[a] = (lse_a − 1/τ, P/|P(a)| = mean_{b∈P(a)} S_ab − 1/τ, T/S, |P(a)|),
//                P and |P(a)| summed over the chunks
//   SIGLIP_FORM  stats[i] = (Σ_j softplus(−z_ij l_ij), Σ_j g_ij, Σ_j g_ij S_ij, 0), summed over
//                the chunks in order, for the N rows of u1 (stat_rows = N)
//
// Bindings (group 0):
//   0 uniform     params   : TileParams
//   1 storage r   partials : array<vec4<f32>>  chunks × stat_rows × 2 (anchor_stats.wgsl)
//   2 storage r   norms    : array<f32>        2N, |z_k| (q_a for UNIFORMITY)
//   3 storage rw  stats    : array<vec4<f32>>  stat_rows
//
// One thread per row, 64 per workgroup, grid (⌈stat_rows / 64⌉, 1).

@group(0) @binding(0) var<uniform> params: TileParams;
@group(0) @binding(1) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<vec4<f32>>;

const NEG_BIG: f32 = -3.0e38; // anchor_stats' empty state: exp(NEG_BIG − M) is 0, never NaN
const MIN_NORM: f32 = 1e-12;

// A running (max, sum) pair merged with another: the online log-sum-exp's step.
fn merge(acc: vec2<f32>, part: vec2<f32>) -> vec2<f32> {
  let m = max(acc.x, part.x);
  return vec2<f32>(m, acc.y * exp(acc.x - m) + part.y * exp(part.x - m));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.stat_rows) { return; }
  let cand0 = stats_cand0();
  let chunks = (params.rows - cand0 + params.stats_chunk - 1u) / params.stats_chunk;
  var lse = vec2<f32>(NEG_BIG, 0.0);  // (M, S)
  var t = 0.0;                        // T, scaled by exp(−M) like S
  var lse2 = vec2<f32>(NEG_BIG, 0.0); // (M2, S2)
  var unif = vec2<f32>(NEG_BIG, 0.0); // (Mu, Su)
  var sums = vec4<f32>(0.0);          // SIGLIP_FORM's three sums; SUPCON_FORM's (P, |P(a)|) in .xy
  for (var c = 0u; c < chunks; c++) {
    let at = 2u * (c * params.stat_rows + row);
    let p0 = partials[at];
    let p1 = partials[at + 1u];
    if (params.loss_form == SIGLIP_FORM) {
      sums += p0;
      continue;
    }
    if (params.loss_form == SUPCON_FORM) { sums += p1; }
    let m = max(lse.x, p0.x);
    t = t * exp(lse.x - m) + p0.z * exp(p0.x - m);
    lse = merge(lse, p0.xy);
    lse2 = merge(lse2, vec2<f32>(p0.w, p1.x));
    unif = merge(unif, p1.yz);
  }
  if (params.loss_form == SIGLIP_FORM) {
    stats[row] = vec4<f32>(sums.xyz, 0.0);
    return;
  }
  var out = vec4<f32>(0.0);
  if (params.loss_form == SUPCON_FORM) {
    out = vec4<f32>((lse.x - params.inv_tau) + log(lse.y), sums.x / sums.y, 0.0, sums.y);
    if ((params.flags & SOFTMAX_MEAN) != 0u) { out.z = t / lse.y; }
    stats[row] = out;
    return;
  }
  if (row < params.anchors) {
    out.x = (lse.x - params.inv_tau) + log(lse.y);
    if ((params.flags & SOFTMAX_MEAN) != 0u) { out.z = t / lse.y; }
    if ((params.flags & SECOND_TEMPERATURE) != 0u) { out.y = lse2.x + log(lse2.y); }
  }
  if ((params.flags & UNIFORMITY) != 0u) {
    let q = norms[row] / max(norms[row], MIN_NORM);
    out.w = unif.x + log(unif.y) - 2.0 * q * q;
  }
  stats[row] = out;
}
