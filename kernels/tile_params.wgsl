// tile_params.wgsl — shared code, prepended to similarity_tile.wgsl (so to anchor_stats.wgsl and
// grad_rows.wgsl) and to anchor_stats_merge.wgsl.
//
// The uniform TileParams, and where the candidate axis of a tile pass lies and how it is split.
// A tile pass (anchor_stats, grad_rows) runs a grid of (row block, candidate chunk) workgroups:
// each owns 64 rows and streams only the candidates of its chunk, so a small batch still
// dispatches enough workgroups to fill a large GPU (src/plan.ts chooses the split from the
// shape). Chunks are whole multiples of 128 candidates, counted from the axis's first row:
//   anchor_stats: rows [stats_cand0(), rows): the bank rows in bank form, all of U when the
//                 in-batch loss or uniformity needs the views' rows, u2's rows for siglip
//   grad_rows:    rows [loss_cand0(), rows): the loss's candidates only
// The including kernel binds `params: TileParams`.

struct TileParams {
  n: u32,        // N
  two_n: u32,    // 2N, rows of U holding the two views
  rows: u32,     // rows of U: 2N + K (K bank rows; K = 0 without a bank)
  anchors: u32,  // anchors of the loss: 2N, or N in bank form (the rows of u1)
  d4: u32,       // vec4s per row of U
  cross: u32,    // 1 = in-batch candidates from the other view only ('cross', dualtemp)
  flags: u32,    // anchor_stats extras: SECOND_TEMPERATURE | SOFTMAX_MEAN | UNIFORMITY
  stat_rows: u32, // rows anchor_stats writes: `anchors`, or 2N when UNIFORMITY is asked
  inv_tau: f32,  // 1/τ
  inv_tau2: f32, // 1/(τ·m), dualtemp's second temperature
  stats_chunk: u32, // candidates per anchor_stats chunk (a multiple of 128)
  grad_chunk: u32,  // candidates per grad_rows chunk (a multiple of 128)
  loss_form: u32,   // SOFTMAX_FORM, SUPCON_FORM or SIGLIP_FORM: the mask and per-pair terms
  bias: f32,        // siglip: the logit bias b (copied in on the GPU when it is read there)
  pad0: u32,
  pad1: u32,
}

// TileParams.loss_form (src/kernels.ts LOSS_FORMS): which candidate mask and per-pair terms the
// tile loops use. Every form streams the same similarity tiles.
//   SOFTMAX_FORM  the losses of the first five losses (docs/FORMULAS.md): an LSE over neg(a), one positive p(a)
//   SUPCON_FORM   the LSE over every b ≠ a (positives included) and, beside it, the sum of S_ab
//                 over the same-label rows P(a) (labels bound by the including kernel)
//   SIGLIP_FORM   no LSE: a sigmoid term per pair (i, j) of the two towers, the positive included
const SOFTMAX_FORM: u32 = 0u;
const SUPCON_FORM: u32 = 1u;
const SIGLIP_FORM: u32 = 2u;

// TileParams.flags bits.
const SECOND_TEMPERATURE: u32 = 1u; // dualtemp: also the log-sum-exp at 1/(τ·m)
const SOFTMAX_MEAN: u32 = 2u;       // gradTemperature: Σ_b softmax_a(b)·S_ab beside the lse
const UNIFORMITY: u32 = 4u;         // diagnostics: same-view log-sum-exp of −2‖u_a − u_b‖²

// Bank form: the loss's candidates are the bank rows [2N, 2N + K), not the views.
fn bank_form() -> bool { return params.rows > params.two_n; }
// First candidate row of the loss (grad_rows' axis).
fn loss_cand0() -> u32 { return select(0u, params.two_n, bank_form()); }
// First candidate row anchor_stats streams: uniformity needs the views' rows in bank form too;
// SigLIP's anchors (the rows of u1) pair only with the rows of u2, [N, 2N).
fn stats_cand0() -> u32 {
  if (params.loss_form == SIGLIP_FORM) { return params.n; }
  return select(loss_cand0(), 0u, (params.flags & UNIFORMITY) != 0u);
}
// Candidate rows [begin, end) of chunk `chunk` on an axis from `cand0` in chunks of `len`.
fn chunk_range(cand0: u32, len: u32, chunk: u32) -> vec2<u32> {
  let begin = cand0 + chunk * len;
  return vec2<u32>(begin, min(begin + len, params.rows));
}

// Whether rows [first, first + count) hold rows of view 1 (x: rows < N) and of view 2 (y).
fn views_in(first: u32, count: u32) -> vec2<bool> {
  return vec2<bool>((first < params.n), (first + count > params.n) && (first < params.two_n));
}
// Whether some anchor of rows [row0, row0 + rc) may have a loss candidate in [col0, col0 + cc):
// lets a workgroup skip whole tiles the mask would zero ('cross': same-view tiles; bank form:
// the views' rows, and row blocks with no anchor). Workgroup-uniform.
fn loss_pairs_in(row0: u32, rc: u32, col0: u32, cc: u32) -> bool {
  if (bank_form()) { return row0 < params.anchors && col0 + cc > params.two_n; }
  let r = views_in(row0, rc);
  let c = views_in(col0, cc);
  if (params.cross == 1u) { return (r.x && c.y) || (r.y && c.x); }
  return any(r) && any(c);
}
// The same for uniformity's same-view pairs.
fn same_view_pairs_in(row0: u32, rc: u32, col0: u32, cc: u32) -> bool {
  let r = views_in(row0, rc);
  let c = views_in(col0, cc);
  return (r.x && c.x) || (r.y && c.y);
}
