// stable_math.wgsl — shared code, prepended to loss_finalize.wgsl, anchor_stats.wgsl and
// grad_rows.wgsl: log1p, softplus and the sigmoid in forms that keep their digits for every
// finite f32 argument (SigLIP sums N² softplus terms of size ~e^−10 at its default bias, where
// a plain log(1 + x) would keep only ~1e-3 of each). No bindings.

fn log1p_safe(x: f32) -> f32 {
  // log(1 + x) for x ≥ 0. Rounding 1 + x loses ~6e-8/x of x's relative precision, so small x
  // use 2·atanh(s), s = x/(2 + x) ≤ 0.2: the series below is exact to ~3e-10.
  if (x < 0.5) {
    let s = x / (2.0 + x);
    let s2 = s * s;
    return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 / 11.0)))));
  }
  return log(1.0 + x);
}
fn softplus(x: f32) -> f32 { return max(x, 0.0) + log1p_safe(exp(-abs(x))); }
fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
