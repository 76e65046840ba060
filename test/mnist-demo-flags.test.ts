// The MNIST demo's MoCo flags: what they hand the page, and their errors (no browser here).
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../examples/mnist/run.js';

describe('MNIST demo flags (MoCo run, probes)', () => {
  it('leave the MoCo settings to the page defaults unless given', () => {
    expect(parseArgs([]).config.moco).toEqual({});
    expect(parseArgs(['--queue', '1024', '--momentum', '0.999', '--moco-batch', '64']).config.moco).toEqual({ queue: 1024, momentum: 0.999, batch: 64 });
  });
  it('--no-moco drops the run, --moco-only drops the sweep', () => {
    expect(parseArgs(['--no-moco']).config.moco).toBeNull();
    const only = parseArgs(['--moco-only']);
    expect(only.mocoOnly).toBe(true);
    expect(only.config.losses).toEqual([]);
    expect(only.config.batches).toEqual([]);
  });
  it('reject bad values and contradictions', () => {
    expect(() => parseArgs(['--queue', '0'])).toThrow(/--queue needs an integer ≥ 1/);
    expect(() => parseArgs(['--queue', '2.5'])).toThrow(/--queue needs an integer ≥ 1/);
    expect(() => parseArgs(['--momentum', '1'])).toThrow(/--momentum needs a number in \[0, 1\)/);
    expect(() => parseArgs(['--moco-batch', '-3'])).toThrow(/--moco-batch needs an integer ≥ 1/);
    expect(() => parseArgs(['--queue'])).toThrow(/--queue needs a value/);
    expect(() => parseArgs(['--moco-only', '--no-moco'])).toThrow(/exclude each other/);
    expect(() => parseArgs(['--mocoo'])).toThrow(/unknown flag --mocoo/);
  });
  it('set the probe: labeled bank, few-label probe, neighbours', () => {
    expect(parseArgs(['--bank', '500', '--few-labels', '50', '--k', '3', '--shift', '2']).config).toMatchObject({ bankCount: 500, fewLabels: 50, k: 3, shift: 2 });
    expect(() => parseArgs(['--few-labels', 'x'])).toThrow(/--few-labels needs a number/);
  });
});
