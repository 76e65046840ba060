/**
 * Issue 9 points 3–6: strict inputs (Float32Array only on `compute`), strict options (unknown
 * keys with a typo hint, type-checked booleans and numbers, τ, σ, τ·m bounded for f32),
 * aliasing refused by `encode` before anything is encoded, and device loss as the package's
 * own error. Each case asserts the exact error class and message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { resolveOptions, type LossOptions } from '../src/options.js';

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

const RANGE = /within \[1e-12, 1e\+12\] \(so that every reciprocal, logit and gradient stays finite in f32\)/;

describe('strict inputs and options (issue 9 points 3–5)', () => {
  it.each([
    ['gradSame', /^RangeError: outputs\.gradZ2 and outputs\.gradZ1 are the same buffer; every output needs its own$/],
    ['lossIsPerAnchor', /^RangeError: outputs\.perAnchor and outputs\.loss are the same buffer/],
    ['gradScaleIsLoss', /^RangeError: gradScale must not be an output buffer \(it is outputs\.loss\)$/],
    ['outputIsInput', /^RangeError: outputs\.gradZ1 must not be an input buffer \(it is z2\)$/],
    ['unknownOutput', /^TypeError: unknown output "gradz1" \(did you mean "gradZ1"\?\); valid: loss, perAnchor, gradZ1, gradZ2, gradTemperature, diagnostics, gradBias$/],
    ['unknownArg', /^TypeError: unknown encode argument "backwards" \(did you mean "backward"\?\); valid: z1, z2, n, d, options, backward, gradScale, temperatureParams, biasParams, outputs$/],
    ['backwardString', /^TypeError: backward must be true or false, got "no"$/],
    ['float64', /^TypeError: z1 must be a Float32Array, got Float64Array/],
    ['int32', /^TypeError: z2 must be a Float32Array, got Int32Array/],
    ['plainArray', /^TypeError: z1 must be a Float32Array, got Array/],
    ['typoTemperature', /^TypeError: unknown option "temprature" \(did you mean "temperature"\?\); valid: loss, temperature, sigma, weightGrad, dtM/],
    ['typoDtM', /^TypeError: unknown option "dt_m" \(did you mean "dtM"\?\)/],
    ['weightGradString', /^TypeError: weightGrad must be true or false, got "no"$/],
    ['tauTiny', new RegExp(`^RangeError: temperature must be a finite number > 0 ${RANGE.source}, got 1e-39$`)],
    ['sigmaTiny', new RegExp(`^RangeError: sigma must be a finite number > 0 ${RANGE.source}, got 1e-39$`)],
    ['tauMTiny', /^RangeError: dualtemp's second temperature τ·m = 0\.000001·1e-7 = 1e-13 must be within \[1e-12, 1e\+12\]/],
    ['tauString', /^TypeError: temperature must be a number, got string "0\.1"$/],
  ])('refuses %s', async (kind, message) => {
    expect(await page.call('strictError', kind)).toMatch(message);
  });

  it('the reference and the GPU share the schema: same refusals on the CPU', () => {
    const bad: [unknown, RegExp][] = [
      [{ loss: 'dcl', temprature: 0.1 }, /did you mean "temperature"/],
      [{ loss: 'dclw', weightGrad: 1 }, /weightGrad must be true or false, got 1/],
      [{ loss: 'ntxent', temperature: 2e12 }, /temperature must be a finite number > 0 within/],
      [null, /options must be an object/],
    ];
    for (const [o, msg] of bad) expect(() => resolveOptions(o as LossOptions)).toThrow(msg);
    // Keys left undefined take the default; an unrelated key is not guessed at.
    expect(resolveOptions({ loss: 'dcl', temperature: undefined }).temperature).toBe(0.1);
    expect(() => resolveOptions({ loss: 'dcl', zzzzzz: 1 } as LossOptions)).toThrow(/^unknown option "zzzzzz"; valid:/);
  });
});

describe('device loss (issue 9 point 6)', () => {
  it('a compute in flight and every later call reject with DeviceLostError naming the reason', async () => {
    const r = await page.call('deviceLossDuringCompute');
    const lost = /^DeviceLostError: the GPUDevice was lost or destroyed \(reason "destroyed"/;
    expect(r.pending).toMatch(lost);
    expect(r.pending).not.toMatch(/AbortError|mapAsync/);
    expect(r.later).toMatch(lost);
    expect(r.laterEncode).toMatch(lost);
    expect(r.ms).toBeLessThan(30_000);
  });
});
