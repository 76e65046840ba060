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
    // issue 19: refused before any buffer is created (the page appends " [created N bytes]" otherwise)
    ['encoderUndefined', /^TypeError: encode's first argument must be a GPUCommandEncoder \(device\.createCommandEncoder\(\)\), got undefined$/],
    ['backwardNull', /^TypeError: backward must be true or false, got null$/],
    ['gradScaleHuge', /^RangeError: gradScale must be a finite f32, \|gradScale\| ≤ 3\.4028234663852886e\+38, got 1e\+39$/],
    ['missingLoss', /^TypeError: options\.loss is required: one of ntxent, dcl, dclw, flatnce, dualtemp, supcon, siglip$/],
    ['outputsNull', /^TypeError: outputs must be an object of GPUBuffers like \{ loss, perAnchor, gradZ1, gradZ2 \} \(or left out\), got null$/],
  ])('refuses %s', async (kind, message) => {
    expect(await page.call('strictError', kind)).toMatch(message);
  });

  it('the reference and the GPU share the schema: same refusals on the CPU', () => {
    const bad: [unknown, RegExp][] = [
      [{ loss: 'dcl', temprature: 0.1 }, /did you mean "temperature"/],
      [{ loss: 'dclw', weightGrad: 1 }, /weightGrad must be true or false, got 1/],
      [{ loss: 'ntxent', temperature: 2e12 }, /temperature must be a finite number > 0 within/],
      [null, /options must be an object/],
      [{ temperature: 0.1 }, /^options\.loss is required: one of ntxent, dcl, dclw, flatnce, dualtemp, supcon, siglip$/],
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

describe('issue 19: reliability', () => {
  it('destroy() under a pending compute on the caller\'s device: the package\'s error at once, nothing on the device', async () => {
    const r = await page.call('destroyWhileComputing');
    const destroyed =
      'Error: this ContrastiveLoss was destroyed while compute() was waiting on the GPU; the call has no result ' +
      '(await every compute() before calling destroy())';
    expect(r.immediate).toBe(destroyed);
    expect([destroyed, 'resolved']).toContain(r.later); // a task later the compute may have finished
    expect(r.ms).toBeLessThan(1000); // no wait for a device loss that never comes
    expect(r.uncaptured).toEqual([]);
    expect(r.live).toEqual([0, 0]);
  });

  it('a bank past the binding limit given to compute(): refused before anything is uploaded, naming the bank, K and the K that fits', async () => {
    const r = await page.call('bankPastLimits');
    // N=2, D=1, K=65536: (2N+K) rows of one vec4 = 1048640 bytes; 65532 rows fit in 1 MiB.
    expect(r.error).toBe(
      `RangeError: a bank of K=${r.k} rows with N=2, D=1 needs a 1048640-byte working buffer (U), over this device's limit ` +
        `(maxStorageBufferBindingSize ${r.limits.maxStorageBufferBindingSize}, maxBufferSize ${r.limits.maxBufferSize}); at most K=65532 bank rows fit with this N and D`,
    );
    expect(r.peakBytes).toBe(0);
    expect(r.uncaptured).toEqual([]);
  });
});

describe('issue 19: API', () => {
  it('readOutputs: equals compute() bit for bit, leaves the buffers alive, destroys its staging, refuses bad arguments', async () => {
    const r = await page.call('readOutputsRun');
    expect(r.equalsCompute).toBe(true);
    expect(r.keys).toEqual(['loss', 'perAnchor', 'gradZ1', 'gradZ2', 'gradTemperature', 'diagnostics']);
    expect(r.lengths).toEqual({ loss: 1, perAnchor: 10, gradZ1: 30, gradZ2: 30, gradTemperature: 1, diagnostics: 4 });
    expect(r.forwardKeys).toEqual(['loss', 'perAnchor']);
    expect(r.secondReadEqual).toBe(true);
    expect(r.unmapped).toBe(true);
    expect(r.staging).toEqual({ created: 4, destroyed: 4 }); // three reads and the refused copy
    expect(r.errors).toEqual({
      notADevice: 'TypeError: readOutputs: device must be a GPUDevice, got undefined',
      notAnObject: "TypeError: readOutputs: outputs must be an object of GPUBuffers like encode's result ({ loss, perAnchor, ... }), got null",
      unknownName: 'TypeError: unknown output "gradz1" (did you mean "gradZ1"?); valid: loss, perAnchor, gradZ1, gradZ2, gradTemperature, diagnostics',
      notABuffer: 'TypeError: readOutputs: outputs.loss must be a GPUBuffer, got Float32Array',
      noCopySrc: 'RangeError: readOutputs: outputs.loss lacks usage COPY_SRC (usage flags 128); buffers encode creates have it',
      destroyed: expect.stringMatching(/^Error: readOutputs: WebGPU refused to copy the outputs \(are they alive, not destroyed\?\): .*destroyed/),
    });
    expect(r.uncaptured).toEqual([]);
  });

  it('create({ onProgress }): one event before compiling and one per pipeline; bad create options refused', async () => {
    const r = await page.call('createProgress');
    expect(r.events).toEqual(Array.from({ length: r.kernels + 1 }, (_, done) => ({ stage: 'compile', done, total: r.kernels })));
    expect(r.throwing).toBe('Error: stop');
    expect(r.errors).toEqual({
      typo: 'TypeError: unknown create option "onProgres" (did you mean "onProgress"?); valid: device, onProgress, targetWorkgroups',
      notAFunction: 'TypeError: onProgress must be a function, got string',
    });
  });

  it('compute(..., { backward }): the controls object, the deprecated boolean, and what is refused', async () => {
    const full = 'loss,perAnchor,gradZ1,gradZ2';
    expect(await page.call('computeControls')).toEqual({
      none: full,
      empty: full,
      backwardTrue: full,
      backwardFalse: 'loss,perAnchor',
      deprecatedFalse: 'loss,perAnchor',
      backwardNull: 'TypeError: backward must be true or false, got null',
      controlsNull: "TypeError: compute's 6th argument must be { backward?: boolean }, got null",
      typo: 'TypeError: unknown compute control "backwards" (did you mean "backward"?); valid: backward',
    });
  });
});
