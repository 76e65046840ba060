/**
 * `webgpu-contrastive demo` (`npm start`): every loss on one random batch, on WebGPU (Node +
 * Dawn in this process, or headless Chromium with `--runtime chromium`), next to the float64 CPU reference, with the GPU time of the fused forward+backward.
 */
import { resolveOptions, type LossOptions } from '../options.js';
import { gaussian, mulberry32 } from '../random.js';
import { referenceLoss } from '../reference/index.js';
import { numberFlag, parseFlags, type CliContext } from './common.js';
import { CLI_RUNTIMES, adapterLabel, openCliGpu, runtimeFlag } from './gpu.js';

export const DEMO_USAGE = `Usage: webgpu-contrastive demo [--n N] [--d D] [--runs R] [--warmup W] [--seed S] [--runtime R]

Runs every loss (ntxent, dcl, dclw, dclw with weightGrad, flatnce, dualtemp; defaults of
docs/FORMULAS.md) on one random batch on WebGPU and prints, per loss: the GPU value, the
float64 reference value, the loss's relative error, the larger relative L2 error of the two
gradients, and the median wall time of the fused forward+backward on GPU-resident inputs.

Options:
  --n N          batch size, ≥ 2 (default 256)
  --d D          embedding width, ≥ 1 (default 128)
  --runs R       timed runs per loss, ≥ 1 (default 5)
  --warmup W     untimed runs first, ≥ 0 (default 2)
  --seed S       random seed, integer (default 1)
  --runtime R    ${CLI_RUNTIMES.join(' | ')} (default node: Dawn in this process)
  -h, --help     show this help`;

/** The losses the demo runs, in order. */
export const DEMO_CASES: readonly { label: string; options: LossOptions }[] = [
  { label: 'ntxent', options: { loss: 'ntxent' } },
  { label: 'dcl', options: { loss: 'dcl' } },
  { label: 'dclw', options: { loss: 'dclw' } },
  { label: 'dclw weightGrad', options: { loss: 'dclw', weightGrad: true } },
  { label: 'flatnce', options: { loss: 'flatnce' } },
  { label: 'dualtemp', options: { loss: 'dualtemp' } },
];

/** A seeded batch of two correlated views: z1 ~ N(0, 1), z2 = z1 + 0.8·N(0, 1). */
export function randomViews(n: number, d: number, seed: number): { z1: Float32Array; z2: Float32Array } {
  const uniform = mulberry32(seed >>> 0 || 1);
  const normal = () => gaussian(uniform);
  const z1 = new Float32Array(n * d);
  const z2 = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) {
    z1[i] = normal();
    z2[i] = z1[i]! + 0.8 * normal();
  }
  return { z1, z2 };
}

/** ‖got − want‖₂ / ‖want‖₂ (absolute when ‖want‖₂ = 0). */
export function relativeL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Render rows as a left/right-aligned text table (first column left, the rest right). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The `demo` command; returns the exit status. */
export async function demoCommand(argv: string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags(argv, {
    n: { type: 'string' },
    d: { type: 'string' },
    runs: { type: 'string' },
    warmup: { type: 'string' },
    seed: { type: 'string' },
    runtime: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const n = numberFlag('--n', flags.n, { minInt: 2 }) ?? 256;
  const d = numberFlag('--d', flags.d, { minInt: 1 }) ?? 128;
  const runs = numberFlag('--runs', flags.runs, { minInt: 1 }) ?? 5;
  const warmup = numberFlag('--warmup', flags.warmup, { minInt: 0 }) ?? 2;
  const seed = numberFlag('--seed', flags.seed, { minInt: 0 }) ?? 1;

  console.log(`webgpu-contrastive demo: N=${n}, D=${d}, random views (seed ${seed}), loss defaults of docs/FORMULAS.md`);
  const runtime = runtimeFlag(flags.runtime);
  console.log(runtime === 'chromium' ? 'launching headless Chromium with WebGPU…' : 'requesting a WebGPU device from Dawn (Node)…');
  const page = await openCliGpu(runtime, ctx);
  const rows: string[][] = [];
  let allOk = true;
  try {
    console.log(`WebGPU adapter (${runtime}): ${adapterLabel(page.adapter)}`);
    const { z1, z2 } = randomViews(n, d, seed);
    for (const [i, c] of DEMO_CASES.entries()) {
      const tag = `[${i + 1}/${DEMO_CASES.length}] ${c.label}:`;
      console.log(`${tag} GPU forward+backward…`);
      const gpu = await page.runLoss(z1, z2, n, d, c.options);
      console.log(`${tag} float64 reference…`);
      const ref = referenceLoss(z1, z2, n, d, c.options);
      console.log(`${tag} timing ${runs} runs after ${warmup} warm-up…`);
      const times = await page.timeLoss(z1, z2, n, d, c.options, warmup, runs);
      const lossErr = Math.abs(gpu.loss - ref.loss) / Math.abs(ref.loss);
      const gradErr = Math.max(relativeL2(gpu.gradZ1!, ref.gradZ1), relativeL2(gpu.gradZ2!, ref.gradZ2));
      // docs/FORMULAS.md's tolerances: loss 1e-5 relative (1e-6 absolute near 0), gradients 1e-4 relative L2.
      const ok = (Math.abs(gpu.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss) || Math.abs(gpu.loss - ref.loss) <= 1e-6) && gradErr <= 1e-4;
      allOk &&= ok;
      rows.push([
        c.label,
        String(resolveOptions(c.options).temperature),
        gpu.loss.toFixed(6),
        ref.loss.toFixed(6),
        lossErr.toExponential(1),
        gradErr.toExponential(1),
        median(times).toFixed(3),
        ok ? 'yes' : 'NO',
      ]);
    }
  } finally {
    await page.close();
  }
  console.log('');
  console.log(
    formatTable(['loss', 'τ', 'GPU value', 'reference (f64)', 'loss rel err', 'max grad rel err', `GPU ms (median of ${runs})`, 'within tol'], rows),
  );
  console.log('');
  console.log(
    allOk
      ? 'All losses within docs/FORMULAS.md tolerances (loss 1e-5 relative, gradients 1e-4 relative L2).'
      : 'Some losses are OUTSIDE docs/FORMULAS.md tolerances (loss 1e-5 relative, gradients 1e-4 relative L2).',
  );
  return allOk ? 0 : 1;
}
