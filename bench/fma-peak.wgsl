// Peak f32 FMA throughput of the adapter (the compute ceiling of the bench's roofline).
//
// Bindings (group 0):
//   @binding(0) uniform            params: Params (iterations: u32, seed: f32)
//   @binding(1) storage read_write out:    array<vec4<f32>>, one vec4 per invocation
//
// What it measures: every invocation keeps 8 independent vec4 accumulators in registers and runs
// `iterations` loop trips of 32 vec4 FMAs (8 accumulators x 4, unrolled), i.e. 128 scalar FMAs =
// 256 flops per trip (2 flops per FMA), with no memory traffic inside the loop. At the end it
// writes the sum of its accumulators, so nothing is dead code. 8 independent chains per thread
// hide the FMA latency; the dispatcher launches enough 256-invocation workgroups to fill the
// device. flops = workgroups * 256 * iterations * 256. `x` is close to 1 and `y` small, so the
// chains converge to y / (1 - x) and never overflow or go subnormal. `iterations` is a uniform so
// the loop cannot be folded at compile time.

struct Params {
  iterations: u32,
  seed: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = params.seed + f32(lid) * 1e-7;
  let x = vec4<f32>(0.9999, 0.99991, 0.99992, 0.99993) - vec4<f32>(s * 1e-6);
  let y = vec4<f32>(1e-4, 2e-4, 3e-4, 4e-4) * s;
  var a0 = vec4<f32>(s);
  var a1 = a0 + vec4<f32>(0.1);
  var a2 = a0 + vec4<f32>(0.2);
  var a3 = a0 + vec4<f32>(0.3);
  var a4 = a0 + vec4<f32>(0.4);
  var a5 = a0 + vec4<f32>(0.5);
  var a6 = a0 + vec4<f32>(0.6);
  var a7 = a0 + vec4<f32>(0.7);
  for (var i = 0u; i < params.iterations; i++) {
    a0 = fma(a0, x, y); a1 = fma(a1, x, y); a2 = fma(a2, x, y); a3 = fma(a3, x, y);
    a4 = fma(a4, x, y); a5 = fma(a5, x, y); a6 = fma(a6, x, y); a7 = fma(a7, x, y);
    a0 = fma(a0, x, y); a1 = fma(a1, x, y); a2 = fma(a2, x, y); a3 = fma(a3, x, y);
    a4 = fma(a4, x, y); a5 = fma(a5, x, y); a6 = fma(a6, x, y); a7 = fma(a7, x, y);
    a0 = fma(a0, x, y); a1 = fma(a1, x, y); a2 = fma(a2, x, y); a3 = fma(a3, x, y);
    a4 = fma(a4, x, y); a5 = fma(a5, x, y); a6 = fma(a6, x, y); a7 = fma(a7, x, y);
    a0 = fma(a0, x, y); a1 = fma(a1, x, y); a2 = fma(a2, x, y); a3 = fma(a3, x, y);
    a4 = fma(a4, x, y); a5 = fma(a5, x, y); a6 = fma(a6, x, y); a7 = fma(a7, x, y);
  }
  out[gid.x] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
