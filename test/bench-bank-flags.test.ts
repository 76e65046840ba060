/**
 * The bench's `--bank` selector (bench/cli.ts): defaults of issue 11's bank rows, explicit values,
 * and one-line errors for bad values (supcon and siglip have no bank form); and the sweep's loss
 * list. Pure parsing: no GPU.
 */
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../bench/cli.js';

describe('bench --bank flags', () => {
  it('defaults to ntxent at N = 256, D = 128, K ∈ {4096, 65536}, checked at K = 4096', () => {
    const cfg = parseBenchArgs(['--bank'])!;
    expect(cfg.bank).toBe(true);
    expect(cfg.bankLosses).toEqual(['ntxent']);
    expect([cfg.bankN, cfg.bankD, cfg.bankCheckK]).toEqual([256, 128, 4096]);
    expect(cfg.bankKs).toEqual([4096, 65536]);
    expect(parseBenchArgs([])!.bank).toBe(false);
  });

  it('takes explicit losses, shapes and bank sizes', () => {
    const cfg = parseBenchArgs(['--bank', '--bank-loss', 'dcl,dualtemp', '--bank-n', '32', '--bank-d', '7', '--bank-k', '1,1000', '--bank-check-k', '64'])!;
    expect(cfg.bankLosses).toEqual(['dcl', 'dualtemp']);
    expect([cfg.bankN, cfg.bankD, cfg.bankCheckK]).toEqual([32, 7, 64]);
    expect(cfg.bankKs).toEqual([1, 1000]);
  });

  it('rejects bad values with the flag named', () => {
    expect(() => parseBenchArgs(['--bank', '--bank-k', '0'])).toThrow(/--bank-k must be an integer ≥ 1, got '0'/);
    expect(() => parseBenchArgs(['--bank', '--bank-k', '4096,x'])).toThrow(/--bank-k must be an integer/);
    expect(() => parseBenchArgs(['--bank', '--bank-loss', 'infonce'])).toThrow(/--bank-loss: unknown loss 'infonce'/);
    expect(() => parseBenchArgs(['--bank', '--bank-loss', 'supcon'])).toThrow(/--bank-loss: unknown loss 'supcon'/);
    expect(() => parseBenchArgs(['--bank', '--bank-n', '2.5'])).toThrow(/--bank-n must be an integer/);
    expect(() => parseBenchArgs(['--bank-size', '3'])).toThrow();
  });

  it('the sweep: all seven losses by default, dcl alone with --quick, supcon and siglip by name', () => {
    expect(parseBenchArgs([])!.losses).toEqual(['ntxent', 'dcl', 'dclw', 'flatnce', 'dualtemp', 'supcon', 'siglip']);
    expect(parseBenchArgs(['--quick'])!.losses).toEqual(['dcl']);
    expect(parseBenchArgs(['--quick', '--loss', 'supcon,siglip'])!.losses).toEqual(['supcon', 'siglip']);
  });
});
