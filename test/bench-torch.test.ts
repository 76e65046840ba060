/**
 * bench/torch/: the PyTorch formulations the bench times (lightly's NTXentLoss, DCLLoss, DCLWLoss,
 * FlatCLR, SimCo dual temperature, and the bank form of each; SupContrast's SupConLoss with the
 * bench's labels, open_clip's SigLipLoss) compute docs/FORMULAS.md's losses: at N = 64, D = 32 in
 * float64, every loss value and both gradients equal the float64 reference to 1e-6 (relative),
 * in-batch and (the first five) against a bank of K = 48. Then `--quick` runs (a smoke run of the
 * timing loop). Skipped, saying so, when no Python with torch is found (.ci/run installs
 * Debian's python3-torch).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTorchPython, torchScript } from '../bench/torch-python.js';
import type { BenchLoss } from '../bench/types.js';
import { benchLabels, benchLossOptions } from '../bench/loss-options.js';
import { benchViews, normalArray } from '../bench/random.js';
import { relativeL2 as relL2 } from '../src/cli/demo.js';
import { referenceLoss } from '../src/reference/index.js';
import { LOSS_NAMES, REFERENCE_LOSS_NAMES, type LossName } from '../src/options.js';

const N = 64;
const D = 32;
const K = 48;
const found = findTorchPython();
if ('absent' in found) console.warn(`bench-torch.test: skipped, ${found.absent}`);

interface TorchCheck {
  torch: string;
  in_batch: Record<LossName, { loss: number; grad_z1: number[]; grad_z2: number[] }>;
  bank: Record<LossName, { loss: number; grad_z1: number[]; grad_z2: number[] }>;
}

describe.skipIf('absent' in found)('bench/torch against the float64 reference', () => {
  const python = 'absent' in found ? '' : found.python;
  const script = torchScript('bench');
  const dir = mkdtempSync(join(tmpdir(), 'bench-torch-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every loss, in-batch and bank form, to 1e-6 at N = 64', () => {
    const { z1, z2 } = benchViews(N, D, 7);
    const bank = normalArray(K * D, 9);
    const inputs = join(dir, 'inputs.json');
    writeFileSync(inputs, JSON.stringify({ n: N, d: D, z1: [...z1], z2: [...z2], bank: [...bank], labels: [...benchLabels(N)] }));
    const r = spawnSync(python, [script, '--check', inputs], { encoding: 'utf8', maxBuffer: 16 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as TorchCheck;
    const errors: string[] = [];
    for (const form of ['in_batch', 'bank'] as const) {
      for (const loss of form === 'bank' ? LOSS_NAMES : REFERENCE_LOSS_NAMES) {
        const ref = referenceLoss(z1, z2, N, D, form === 'bank' ? { loss, bank } : benchLossOptions(loss as BenchLoss, N));
        const t = got[form][loss];
        const lossRel = Math.abs(t.loss - ref.loss) / Math.abs(ref.loss);
        const g1 = relL2(t.grad_z1, ref.gradZ1);
        const g2 = relL2(t.grad_z2, ref.gradZ2);
        errors.push(`${form} ${loss}: loss ${t.loss.toFixed(6)} rel ${lossRel.toExponential(1)}, grad z1 ${g1.toExponential(1)}, z2 ${g2.toExponential(1)}`);
        expect(lossRel, `${form} ${loss} loss`).toBeLessThan(1e-6);
        expect(g1, `${form} ${loss} grad z1`).toBeLessThan(1e-6);
        expect(g2, `${form} ${loss} grad z2`).toBeLessThan(1e-6);
      }
    }
    console.log(`torch ${got.torch} (${python}) vs reference, N=${N} D=${D} K=${K}:\n  ${errors.join('\n  ')}`);
  });

  it('--quick times dcl in both modes with warm-up evidence', () => {
    const out = join(dir, 'quick.json');
    const r = spawnSync(python, [script, '--quick', '--json', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(out, 'utf8')) as { rows: { mode: string; wall_ms: number; warmup: { runs: number } }[] };
    expect(res.rows.map((x) => x.mode)).toEqual(['throughput', 'latency', 'throughput', 'latency']);
    for (const row of res.rows) {
      expect(row.wall_ms).toBeGreaterThan(0);
      expect(row.warmup.runs).toBeGreaterThanOrEqual(3);
    }
  });
});
