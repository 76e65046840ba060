/** Bad inputs and options throw errors that name the problem, from every public entry point. */

import { describe, expect, it } from 'vitest';
import { resolveOptions, type LossOptions } from '../../src/options.js';
import { dclwValueFrozen, dualTempValueFrozen, referenceLoss, referenceLossValue } from '../../src/reference/index.js';

const z = (n: number, d: number) => Array.from({ length: n * d }, (_, k) => Math.sin(k + 1));

const ENTRY_POINTS = {
  referenceLoss: (z1: ArrayLike<number>, z2: ArrayLike<number>, n: number, d: number, o: LossOptions) => referenceLoss(z1, z2, n, d, o),
  referenceLossValue: (z1: ArrayLike<number>, z2: ArrayLike<number>, n: number, d: number, o: LossOptions) => referenceLossValue(z1, z2, n, d, o),
};

describe('invalid input', () => {
  for (const [name, call] of Object.entries(ENTRY_POINTS)) {
    describe(name, () => {
      it('N < 2', () => {
        expect(() => call(z(1, 3), z(1, 3), 1, 3, { loss: 'dcl' })).toThrow(/N must be an integer ≥ 2/);
        expect(() => call([], [], 0, 3, { loss: 'dcl' })).toThrow(/N must be/);
      });

      it('shape mismatch', () => {
        expect(() => call(z(3, 4), z(3, 4).slice(1), 3, 4, { loss: 'ntxent' })).toThrow(/z2 has 11 values, expected N·D/);
        expect(() => call(z(3, 4), z(3, 4), 3, 5, { loss: 'ntxent' })).toThrow(/z1 has 12 values, expected N·D = 3·5 = 15/);
        expect(() => call(z(3, 4), z(3, 4), 3, 0, { loss: 'ntxent' })).toThrow(/D must be an integer ≥ 1/);
      });

      it('τ ≤ 0 (and non-finite τ)', () => {
        for (const temperature of [0, -0.1, NaN, Infinity]) {
          expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', temperature })).toThrow(/temperature must be a finite number > 0/);
        }
      });

      it('σ ≤ 0', () => {
        for (const sigma of [0, -1]) {
          expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dclw', sigma })).toThrow(/sigma must be a finite number > 0/);
        }
      });

      it('dtM ≤ 0', () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dualtemp', dtM: 0 })).toThrow(/dtM must be a finite number > 0/);
      });

      it('non-finite values: NaN and ±Infinity, in either view', () => {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const withBad = z(3, 4);
          withBad[5] = bad;
          expect(() => call(withBad, z(3, 4), 3, 4, { loss: 'dcl' })).toThrow(new RegExp(`z1 has a non-finite value ${bad} at row 1, column 1`));
          expect(() => call(z(3, 4), Float32Array.from(withBad), 3, 4, { loss: 'dcl' })).toThrow(/z2 has a non-finite value/);
        }
      });

      it('unknown loss', () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'simclr' } as unknown as LossOptions)).toThrow(/unknown loss "simclr"/);
        expect(() => call(z(3, 4), z(3, 4), 3, 4, undefined as unknown as LossOptions)).toThrow(/unknown loss/);
      });
    });
  }

  it('frozen helpers validate their inputs and the frozen vector', () => {
    expect(() => dclwValueFrozen(z(3, 4), z(3, 4), 3, 4, [1, 1])).toThrow(/weights has 2 values, expected 3/);
    expect(() => dclwValueFrozen(z(3, 4), z(3, 4), 3, 4, [1, NaN, 1])).toThrow(/weights has a non-finite value/);
    expect(() => dclwValueFrozen(z(3, 4), z(3, 4), 3, 4, [1, 1, 1], 0)).toThrow(/temperature/);
    expect(() => dualTempValueFrozen(z(3, 4), z(3, 4), 3, 4, [1, 1, 1])).toThrow(/factors has 3 values, expected 6/);
    expect(() => dualTempValueFrozen(z(1, 4), z(1, 4), 1, 4, [1, 1])).toThrow(/N must be/);
  });
});

describe('second-wave options: bad combinations and bad banks', () => {
  const bank = (k: number, d: number) => Float64Array.from({ length: k * d }, (_, i) => Math.cos(i + 1));
  for (const [name, call] of Object.entries(ENTRY_POINTS)) {
    describe(name, () => {
      it("dualtemp with negatives: 'all'", () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dualtemp', negatives: 'all' })).toThrow(RangeError);
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dualtemp', negatives: 'all' })).toThrow(/negatives: 'all' is not defined for dualtemp/);
      });

      it("bank with negatives: 'cross' (every loss but dualtemp, for which 'cross' is the definition)", () => {
        for (const loss of ['ntxent', 'dcl', 'dclw', 'flatnce'] as const) {
          expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss, negatives: 'cross', bank: bank(2, 4) })).toThrow(/negatives: 'cross' cannot be combined with bank/);
        }
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dualtemp', negatives: 'cross', bank: bank(2, 4) })).not.toThrow();
      });

      it('an unknown negatives value', () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', negatives: 'same' } as unknown as LossOptions)).toThrow(/unknown negatives "same"; expected one of all, cross/);
      });

      it('non-boolean gradTemperature / diagnostics', () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', gradTemperature: 1 } as unknown as LossOptions)).toThrow(/gradTemperature must be true or false, got 1/);
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', diagnostics: 'yes' } as unknown as LossOptions)).toThrow(/diagnostics must be true or false, got "yes"/);
      });

      it('bank length not a multiple of D', () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'ntxent', bank: new Float64Array(10) })).toThrow(/bank has 10 values, not a positive multiple of D = 4/);
      });

      it('K = 0 (an empty bank, or a GPU bank with k 0)', () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'ntxent', bank: new Float32Array(0) })).toThrow(/bank has 0 values, not a positive multiple of D = 4 .*K ≥ 1/);
        const gpuBank = { buffer: {} as GPUBuffer, k: 0 };
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'ntxent', bank: gpuBank })).toThrow(/bank.k must be an integer ≥ 1/);
      });

      it('non-finite bank values', () => {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const b = bank(3, 4);
          b[6] = bad;
          expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', bank: b })).toThrow(new RegExp(`bank has a non-finite value ${bad} at row 1, column 2`));
          expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', bank: Float32Array.from(b) })).toThrow(/bank has a non-finite value/);
        }
      });

      it('a bank that is neither an array nor { buffer, k }; a GPU bank given to the reference', () => {
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', bank: [1, 2, 3, 4] } as unknown as LossOptions)).toThrow(/bank must be a Float32Array or Float64Array/);
        expect(() => call(z(3, 4), z(3, 4), 3, 4, { loss: 'dcl', bank: { buffer: {} as GPUBuffer, k: 2 } })).toThrow(/the reference needs the values/);
      });

      it('N = 1 is allowed in bank form only; N = 0 never', () => {
        expect(() => call(z(1, 4), z(1, 4), 1, 4, { loss: 'dcl', bank: bank(2, 4) })).not.toThrow();
        expect(() => call([], [], 0, 4, { loss: 'dcl', bank: bank(2, 4) })).toThrow(/N must be an integer ≥ 1/);
        expect(() => call(z(1, 4), z(1, 4), 1, 4, { loss: 'dcl', negatives: 'cross' })).toThrow(/N must be an integer ≥ 2/);
      });
    });
  }

  it('resolveOptions: defaults, dualtemp\'s cross, bankRows from the bank and D', () => {
    expect(resolveOptions({ loss: 'ntxent' })).toMatchObject({ negatives: 'all', gradTemperature: false, diagnostics: false, bankRows: 0 });
    expect(resolveOptions({ loss: 'dualtemp' }).negatives).toBe('cross');
    expect(resolveOptions({ loss: 'dcl', bank: bank(7, 3) }, 3).bankRows).toBe(7);
    expect(resolveOptions({ loss: 'dcl', bank: { buffer: {} as GPUBuffer, k: 9 } }).bankRows).toBe(9);
    expect(() => resolveOptions({ loss: 'dcl', bank: bank(7, 3) })).toThrow(/D is needed/);
    expect(() => resolveOptions({ loss: 'dcl', bank: { buffer: {} as GPUBuffer, k: 1.5 } })).toThrow(/bank.k must be an integer/);
  });

  it('frozen helpers take the second-wave options', () => {
    expect(() => dclwValueFrozen(z(3, 4), z(3, 4), 3, 4, [1, 1, 1], { bank: bank(2, 4), negatives: 'cross' })).toThrow(/cannot be combined with bank/);
    expect(() => dualTempValueFrozen(z(3, 4), z(3, 4), 3, 4, [1, 1, 1, 1, 1, 1], { bank: bank(2, 4) })).toThrow(/factors has 6 values, expected 3/);
    expect(() => dualTempValueFrozen(z(3, 4), z(3, 4), 3, 4, [1, 1, 1], { negatives: 'all' })).toThrow(/not defined for dualtemp/);
  });
});
