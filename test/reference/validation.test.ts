/** Bad inputs and options throw errors that name the problem, from every public entry point. */

import { describe, expect, it } from 'vitest';
import type { LossOptions } from '../../src/options.js';
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
