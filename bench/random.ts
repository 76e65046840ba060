/**
 * Seeded standard-normal inputs, identical in Node and in the page (the correctness check draws
 * in Node, the timed cases draw in the page).
 */
import { mulberry32 } from '../src/random.js';

/** `count` standard-normal f32 values (Box–Muller) from `seed`. */
export function normalArray(count: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = Math.max(next(), 1e-12);
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** The two views of a benchmark batch: z2 is z1 plus noise, so positives are similar (as after augmentation). */
export function benchViews(n: number, d: number, seed: number): { z1: Float32Array; z2: Float32Array } {
  const z1 = normalArray(n * d, seed);
  const noise = normalArray(n * d, seed + 1);
  const z2 = new Float32Array(n * d);
  for (let i = 0; i < z2.length; i++) z2[i] = z1[i]! + 0.5 * noise[i]!;
  return { z1, z2 };
}
