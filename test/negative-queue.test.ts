/**
 * NegativeQueue on the GPU (headless Chromium): the ring's contents after every enqueue equal
 * a CPU model that pushes rows one at a time (wrap-around, n = K, n > K, several enqueues in
 * one encoder), rows past `n` of a keys buffer are never copied, keys are never written, random
 * initial rows are unit rows (seeded: same seed, same rows), and bad arguments throw named errors.
 * Fresh random keys per run (seed printed; QUEUE_SEED=<n> reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { randomUnitRows } from '../src/negative-queue.js';
import { freshRng } from './reference/helpers.js';

const rng = freshRng('negative-queue', 'QUEUE_SEED');
const seed = rng.seed;

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

/** The queue as a CPU model: push each row at `head`, oldest overwritten first. */
function model(initial: Float32Array, k: number, d: number) {
  const ring = initial.slice();
  let head = 0;
  return {
    push(keys: Float32Array, n: number) {
      for (let r = 0; r < n; r++) {
        ring.set(keys.subarray(r * d, r * d + d), head * d);
        head = (head + 1) % k;
      }
      return { ring: ring.slice(), head };
    },
  };
}

const randomRows = (rows: number, d: number) => new Float32Array(rows * d).map(() => rng.gaussian());

describe(`NegativeQueue (seed ${seed})`, () => {
  const cases: { name: string; k: number; d: number; ns: number[]; perEncoder?: number }[] = [
    { name: 'K=7, D=3: steps of 3 wrap around the end', k: 7, d: 3, ns: [3, 3, 3, 3, 1, 5] },
    { name: 'K=5, D=4: n = K, then n > K (only the newest K rows kept)', k: 5, d: 4, ns: [5, 2, 12, 0, 4] },
    { name: 'K=1, D=2: every enqueue replaces the one row', k: 1, d: 2, ns: [1, 3, 1] },
    { name: 'K=64, D=33: MoCo-like steps of 24, three enqueues per encoder', k: 64, d: 33, ns: [24, 24, 24, 24, 24, 24, 7, 24, 24], perEncoder: 3 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const initial = randomRows(c.k, c.d);
      const steps = c.ns.map((n) => ({ n, keys: randomRows(n, c.d), extraRows: 1 + Math.floor(rng.uniform() * 3) }));
      const r = await page.call('negativeQueueRun', c.k, c.d, steps, initial, undefined, c.perEncoder ?? 1);
      expect(r.validationErrors).toEqual([]);
      expect(r.initial).toEqual(initial);
      const m = model(initial, c.k, c.d);
      const perEncoder = c.perEncoder ?? 1;
      const expected = steps.map((s) => m.push(s.keys, s.n));
      expect(r.heads).toEqual(expected.map((e) => e.head));
      r.afterStep.forEach((ring, s) => {
        const want = expected[Math.min(steps.length - 1, (s + 1) * perEncoder - 1)]!.ring;
        expect(ring, `ring after encoder ${s}`).toEqual(want); // bit for bit (toEqual on Float32Array: same values, NaN = NaN)
      });
      expect(r.keysUnchanged).toBe(true);
    });
  }

  it('random initial rows: unit norm, seeded (same seed ⇒ same rows, as randomUnitRows)', async () => {
    const k = 9, d = 5, s = 1234;
    const a = await page.call('negativeQueueRun', k, d, [], undefined, s);
    const b = await page.call('negativeQueueRun', k, d, [], undefined, s + 1);
    expect(a.initial).toEqual(randomUnitRows(k, d, s));
    expect(b.initial).not.toEqual(a.initial);
    for (let j = 0; j < k; j++) {
      const norm = Math.hypot(...a.initial.subarray(j * d, j * d + d));
      expect(Math.abs(norm - 1), `row ${j}`).toBeLessThan(1e-6);
    }
  });

  it('bad arguments throw named errors before anything is encoded', async () => {
    const e = await page.call('negativeQueueErrors');
    expect(e.k0).toMatch(/RangeError: NegativeQueue: k must be an integer ≥ 1, got 0/);
    expect(e['d1.5']).toMatch(/RangeError: NegativeQueue: d must be an integer ≥ 1, got 1.5/);
    expect(e.rowsLength).toMatch(/RangeError: NegativeQueue: rows has 15 values, expected K·D = 4·4 = 16/);
    expect(e.rowsNaN).toMatch(/RangeError: NegativeQueue: rows has a non-finite value NaN at row 1, column 0/);
    expect(e.rowsType).toMatch(/TypeError: NegativeQueue: rows must be a Float32Array/);
    expect(e.tooLarge).toMatch(/RangeError: NegativeQueue: K×D = 1048576×4096 needs 17179869184 bytes, over this device's limit/);
    expect(e.nTooMany).toMatch(/RangeError: NegativeQueue.enqueue: keys holds 32 bytes, needs n·D·4 = 3·4·4 = 48/);
    expect(e.nNegative).toMatch(/RangeError: NegativeQueue.enqueue: n must be an integer ≥ 0, got -1/);
    expect(e.ownBuffer).toMatch(/RangeError: NegativeQueue.enqueue: keys must not be the queue's own buffer/);
    expect(e.noCopySrc).toMatch(/RangeError: NegativeQueue.enqueue: keys lacks usage COPY_SRC/);
    expect(e.headUnmoved).toBe('no error');
    expect(e.afterDestroy).toMatch(/Error: NegativeQueue.enqueue: the queue was destroyed/);
    expect(e.bankAfterDestroy).toMatch(/Error: NegativeQueue.bank: the queue was destroyed/);
  });
});

describe('randomUnitRows (CPU)', () => {
  it('K×D unit rows, deterministic per seed', () => {
    const a = randomUnitRows(4, 3, 7);
    expect(a).toEqual(randomUnitRows(4, 3, 7));
    for (let j = 0; j < 4; j++) expect(Math.hypot(...a.subarray(j * 3, j * 3 + 3))).toBeCloseTo(1, 6);
  });
});
