/**
 * The split candidate axis at its edges (src/plan.ts chooses chunks of 128 candidates), on the
 * GPU against the float64 reference: a single chunk, the largest split (one tile per chunk),
 * rows and candidates that are not multiples of a chunk (a last chunk of one candidate), N = 2,
 * a bank of K = 1, a nearly collapsed batch, τ = 0.001, and rows of norm 1e-30 and 1e30. Each
 * case runs twice: the results must be bitwise identical (the chunks are merged and summed in a
 * fixed order). Outputs are poisoned before each run; inputs and bank must come back unchanged.
 * Fresh random inputs (seed printed; REF_SEED reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { referenceLoss } from '../src/reference/index.js';
import { planLoss } from '../src/plan.js';
import { resolveOptions, type LossOptions } from '../src/options.js';
import { freshRng } from './reference/helpers.js';
import { expectExtrasMatchReference, expectMatchesReference } from './support/expect-reference.js';
import type { OptionsWithoutBank } from './browser/second-wave-page.js';

const rng = freshRng('split');
let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

type Rows = (n: number, d: number) => Float32Array;
const gaussianRows: Rows = (n, d) => new Float32Array(n * d).map(() => rng.gaussian());

interface Case {
  name: string;
  n: number;
  d: number;
  options: OptionsWithoutBank;
  k?: number;
  /** How the views are made (default: independent Gaussian rows). */
  views?: (n: number, d: number) => { z1: Float32Array; z2: Float32Array };
  /** The splits this case must exercise: [anchor_stats chunks, grad_rows chunks]. */
  chunks: [number, number];
}

/** Every row = one vector + 1e-3 noise, in both views. */
function collapsed(n: number, d: number) {
  const v = Array.from({ length: d }, () => rng.gaussian());
  const view = () => new Float32Array(n * d).map((_, i) => v[i % d]! + 1e-3 * rng.gaussian());
  return { z1: view(), z2: view() };
}

/**
 * Row i ≈ the basis vector e_i in both views (1e-3 noise): the positive's logit is ≈ 1/τ and the
 * negatives' ≈ 0, so at τ = 0.01 lse − s⁺ ≈ log(N − 1) − 100 ≈ −97, where exp(x) is subnormal.
 */
function nearBasis(n: number, d: number) {
  const z1 = new Float32Array(n * d).map((_, k) => (k % d === Math.floor(k / d) ? 1 : 0) + 1e-3 * rng.gaussian());
  return { z1, z2: z1.map((v) => v + 1e-3 * rng.gaussian()) };
}

/** Rows of norm 1e-30, 1e30 and 1, in turn. */
function extremeNorms(n: number, d: number) {
  const scales = [1e-30, 1e30, 1];
  const view = () => {
    const z = gaussianRows(n, d);
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) z[i * d + c] = Math.fround(z[i * d + c]! * scales[i % 3]!);
    return z;
  };
  return { z1: view(), z2: view() };
}

const CASES: Case[] = [
  { name: 'N = 2: one chunk', n: 2, d: 3, options: { loss: 'ntxent', temperature: 0.1, gradTemperature: true, diagnostics: true }, chunks: [1, 1] },
  // 2N = 514 candidates: five chunks of one tile each, the last holding 2 candidates.
  { name: 'the largest split, a short last chunk', n: 257, d: 33, options: { loss: 'dclw', temperature: 0.07, weightGrad: true, gradTemperature: true }, chunks: [5, 5] },
  { name: "'cross', 400 candidates", n: 200, d: 20, options: { loss: 'dualtemp', temperature: 0.1, diagnostics: true }, chunks: [4, 4] },
  { name: 'bank K = 1', n: 2, d: 5, k: 1, options: { loss: 'ntxent', temperature: 0.2, gradTemperature: true }, chunks: [1, 1] },
  // K = 4097: chunks of one tile, the last holding one bank row; with diagnostics anchor_stats'
  // axis also spans the views' six rows.
  { name: 'bank K = 4097, a last chunk of one row', n: 3, d: 8, k: 4097, options: { loss: 'dcl', temperature: 0.1, gradTemperature: true, diagnostics: true }, chunks: [33, 33] },
  { name: 'a nearly collapsed batch', n: 200, d: 32, options: { loss: 'dcl', temperature: 0.1 }, views: collapsed, chunks: [4, 4] },
  { name: 'τ = 0.001', n: 150, d: 16, options: { loss: 'ntxent', temperature: 0.001, gradTemperature: true }, chunks: [3, 3] },
  { name: 'τ = 0.001, DCL', n: 150, d: 16, options: { loss: 'dcl', temperature: 0.001 }, chunks: [3, 3] },
  // A dominant positive: exp(lse − s⁺) is subnormal (x ≈ −97); see also test/fused-loss.node.test.ts.
  { name: 'a dominant positive, τ = 0.01', n: 31, d: 32, options: { loss: 'dualtemp', temperature: 0.01 }, views: nearBasis, chunks: [1, 1] },
  { name: 'row norms 1e-30 and 1e30', n: 150, d: 24, options: { loss: 'flatnce', temperature: 0.1, diagnostics: true }, views: extremeNorms, chunks: [3, 3] },
];

const bits = (a: Float32Array | number | undefined) => (a === undefined ? '' : Buffer.from(new Float32Array(typeof a === 'number' ? [a] : a).buffer).toString('base64'));

describe('the split candidate axis at its edges, against the reference', () => {
  for (const c of CASES) {
    it(`${c.name}: N=${c.n} D=${c.d}${c.k ? ` K=${c.k}` : ''} ${JSON.stringify(c.options)}`, async () => {
      const where = `${c.name} (seed ${rng.seed})`;
      const bank = c.k ? gaussianRows(c.k, c.d) : undefined;
      const options: LossOptions = bank ? { ...c.options, bank } : c.options;
      const plan = planLoss(c.n, c.d, resolveOptions(options, c.d), true);
      expect([plan.statsSplit.chunks, plan.gradSplit.chunks], `${where}: the split`).toEqual(c.chunks);

      const { z1, z2 } = (c.views ?? ((n, d) => ({ z1: gaussianRows(n, d), z2: gaussianRows(n, d) })))(c.n, c.d);
      const first = await page.call('runSecondWave', z1, z2, c.n, c.d, c.options, bank);
      const second = await page.call('runSecondWave', z1, z2, c.n, c.d, c.options, bank);
      const ref = referenceLoss(z1, z2, c.n, c.d, options);
      expect(first.inputsUnchanged, `${where}: inputs or bank changed`).toBe(true);
      expect(first.forwardOnlyMatches, `${where}: forward-only differs`).toBe(true);
      expectMatchesReference(where, first, ref, c.options.temperature!, c.d, 'required');
      expectExtrasMatchReference(where, first, ref, c.options);
      for (const key of ['loss', 'perAnchor', 'gradZ1', 'gradZ2', 'gradTemperature', 'diagnostics'] as const) {
        expect(bits(second[key]), `${where}: ${key} differs between two identical calls`).toBe(bits(first[key]));
      }
      console.log(`[split] ${where}: chunks ${plan.statsSplit.chunks}×${plan.statsSplit.chunkLength} / ${plan.gradSplit.chunks}×${plan.gradSplit.chunkLength}, loss ${first.loss} vs ${ref.loss}`);
    });
  }
});
