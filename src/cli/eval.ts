/**
 * `webgpu-contrastive eval`: the fused loss and its gradients for two views read from `.npy`
 * files, computed on WebGPU in headless Chromium. Every input is checked before Chromium starts.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliPageApi } from '../chromium/cli-page.js';
import { openWebGPUPage } from '../chromium/webgpu-page.js';
import { NpyError, readNpy2D, writeNpy2D, type Npy2D } from './npy.js';
import { DEFAULT_DT_M, DEFAULT_SIGMA, DEFAULT_TEMPERATURE, LOSS_NAMES, resolveOptions, type LossOptions, type ResolvedLossOptions } from '../options.js';
import { UsageError, cliPageEntry, lossFlag, numberFlag, packageVersion, parseFlags, type CliContext } from './common.js';

export const EVAL_USAGE = `Usage: webgpu-contrastive eval --loss NAME --z1 A.npy --z2 B.npy --out DIR [options]

Runs the fused loss on WebGPU (headless Chromium) and writes
  DIR/result.json    loss (mean over the 2N anchors), options with defaults resolved, adapter
  DIR/grad_z1.npy    float32 N×D: gradient of the reported mean loss w.r.t. the raw z1
  DIR/grad_z2.npy    float32 N×D: the same for z2
For flatnce the value is the NT-Xent value and the gradients are FlatNCE's (see MATH.md).

Inputs: .npy files of float32 ('<f4') or float64 ('<f8'), 2-D N×D, C order, same shape, N ≥ 2,
finite values. The GPU computes in float32 (float64 inputs are rounded to float32).

Required:
  --loss NAME           ${LOSS_NAMES.join(' | ')}
  --z1 PATH             first view, N×D
  --z2 PATH             second view, N×D
  --out DIR             output directory (created if missing)
Options:
  --temperature T       τ > 0 (default ${Object.entries(DEFAULT_TEMPERATURE).map(([k, v]) => `${v} ${k}`).join(', ')})
  --sigma S             DCLW σ > 0 (default ${DEFAULT_SIGMA}; dclw only)
  --weight-grad         DCLW: gradient flows through the weights (default: detached; dclw only)
  --dt-m M              dual temperature ratio m > 0 (default ${DEFAULT_DT_M}; dualtemp only)
  -h, --help            show this help`;

/** What `result.json` holds. */
export interface EvalResult {
  loss: number;
  loss_name: string;
  n: number;
  d: number;
  temperature: number;
  sigma: number;
  weight_grad: boolean;
  dt_m: number;
  /** Which of the options above the loss reads (the others are recorded with their defaults). */
  options_used: string[];
  input_dtype: { z1: string; z2: string };
  compute_dtype: 'float32';
  gradients: { z1: string; z2: string; dtype: 'float32'; shape: [number, number]; of: string };
  note?: string;
  adapter: { vendor: string; architecture: string; description: string };
  version: string;
}

const OPTIONS_USED: Record<string, string[]> = {
  ntxent: ['temperature'],
  dcl: ['temperature'],
  dclw: ['temperature', 'sigma', 'weight_grad'],
  flatnce: ['temperature'],
  dualtemp: ['temperature', 'dt_m'],
};

/** Read one view, as a usage error naming the flag when the file is unusable. */
function readView(flag: string, path: string | undefined): Npy2D {
  if (path === undefined) throw new UsageError(`missing ${flag} PATH (an N×D float32 or float64 .npy file)`);
  try {
    return readNpy2D(path);
  } catch (e) {
    if (e instanceof NpyError) throw new UsageError(`${flag}: ${e.message}`);
    throw e;
  }
}

/** The view as float32, refusing values that are not finite or not representable in float32. */
function toFloat32(flag: string, path: string, v: Npy2D): Float32Array {
  const out = v.data instanceof Float32Array ? v.data : Float32Array.from(v.data);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) {
      const where = `row ${Math.floor(i / v.cols)}, column ${i % v.cols}`;
      const what = Number.isFinite(v.data[i]!) ? `a value ${v.data[i]} outside the float32 range` : `a non-finite value ${v.data[i]}`;
      throw new UsageError(`${flag} ${path} has ${what} at ${where}`);
    }
  }
  return out;
}

/** Create `dir` (and parents), as a usage error when that is impossible. */
function prepareOutDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`--out ${dir} exists and is not a directory`);
    if (code === 'ENOTDIR') throw new UsageError(`--out ${dir}: a parent of it is not a directory`);
    throw new UsageError(`--out ${dir}: cannot create the directory (${code ?? (e as Error).message})`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is not a directory`);
}

function checkFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new Error(`the GPU returned a non-finite ${name} (${values[i]} at index ${i})`);
  }
}

/** The `eval` command; returns the exit status (throws UsageError / Error for main to report). */
export async function evalCommand(argv: string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags(argv, {
    loss: { type: 'string' },
    z1: { type: 'string' },
    z2: { type: 'string' },
    out: { type: 'string' },
    temperature: { type: 'string' },
    sigma: { type: 'string' },
    'weight-grad': { type: 'boolean' },
    'dt-m': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    console.log(EVAL_USAGE);
    return 0;
  }

  // 1. Flags, before touching any file.
  const loss = lossFlag(flags.loss);
  if (flags.z1 === undefined) throw new UsageError('missing --z1 PATH (an N×D float32 or float64 .npy file)');
  if (flags.z2 === undefined) throw new UsageError('missing --z2 PATH (an N×D float32 or float64 .npy file)');
  if (flags.out === undefined) throw new UsageError('missing --out DIR (where result.json and the gradients go)');
  const options: LossOptions = { loss };
  const temperature = numberFlag('--temperature', flags.temperature, { positive: true });
  const sigma = numberFlag('--sigma', flags.sigma, { positive: true });
  const dtM = numberFlag('--dt-m', flags['dt-m'], { positive: true });
  if (temperature !== undefined) options.temperature = temperature;
  if (sigma !== undefined) options.sigma = sigma;
  if (dtM !== undefined) options.dtM = dtM;
  if (flags['weight-grad']) options.weightGrad = true;
  let resolved: ResolvedLossOptions;
  try {
    resolved = resolveOptions(options);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const used = OPTIONS_USED[loss]!;
  for (const [flag, key, given] of [
    ['--sigma', 'sigma', sigma !== undefined],
    ['--weight-grad', 'weight_grad', !!flags['weight-grad']],
    ['--dt-m', 'dt_m', dtM !== undefined],
  ] as const) {
    if (given && !used.includes(key)) console.error(`webgpu-contrastive eval: note: ${flag} does not affect ${loss}; ignored`);
  }

  // 2. Inputs.
  const a = readView('--z1', flags.z1);
  const b = readView('--z2', flags.z2);
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new UsageError(`--z1 ${flags.z1} is ${a.rows}×${a.cols} but --z2 ${flags.z2} is ${b.rows}×${b.cols}; the two views must have the same shape`);
  }
  const n = a.rows;
  const d = a.cols;
  if (n < 2) throw new UsageError(`the views have N = ${n} row(s); contrastive losses need N ≥ 2 (the other samples are the negatives)`);
  if (d < 1) throw new UsageError('the views have D = 0 columns; need D ≥ 1');
  const z1 = toFloat32('--z1', flags.z1, a);
  const z2 = toFloat32('--z2', flags.z2, b);
  prepareOutDir(flags.out);

  // 3. The GPU.
  const page = await openWebGPUPage<CliPageApi>(cliPageEntry(ctx));
  let result: Awaited<ReturnType<CliPageApi['runLoss']>>;
  try {
    result = await page.call('runLoss', z1, z2, n, d, options);
  } finally {
    await page.close();
  }
  const { gradZ1, gradZ2 } = result;
  if (!gradZ1 || !gradZ2) throw new Error('the GPU run returned no gradients');
  checkFinite('loss', [result.loss]);
  checkFinite('gradient for z1', gradZ1);
  checkFinite('gradient for z2', gradZ2);

  // 4. Outputs.
  writeNpy2D(join(flags.out, 'grad_z1.npy'), gradZ1, n, d);
  writeNpy2D(join(flags.out, 'grad_z2.npy'), gradZ2, n, d);
  const report: EvalResult = {
    loss: result.loss,
    loss_name: loss,
    n,
    d,
    temperature: resolved.temperature,
    sigma: resolved.sigma,
    weight_grad: resolved.weightGrad,
    dt_m: resolved.dtM,
    options_used: used,
    input_dtype: { z1: a.dtype, z2: b.dtype },
    compute_dtype: 'float32',
    gradients: {
      z1: 'grad_z1.npy',
      z2: 'grad_z2.npy',
      dtype: 'float32',
      shape: [n, d],
      of: loss === 'flatnce' ? 'FlatNCE objective (= gradient of mean_a (lse_a − s⁺_a)) w.r.t. raw z1, z2' : 'reported mean loss w.r.t. raw z1, z2',
    },
    ...(loss === 'flatnce'
      ? { note: 'flatnce: loss is the NT-Xent value FlatCLR logs; the FlatNCE objective itself is always 0 (MATH.md)' }
      : {}),
    adapter: page.adapter,
    version: packageVersion(ctx),
  };
  writeFileSync(join(flags.out, 'result.json'), JSON.stringify(report, null, 2) + '\n');
  const adapter = [page.adapter.vendor, page.adapter.architecture, page.adapter.description].filter(Boolean).join(' / ');
  console.log(
    `${loss}: loss ${result.loss} (N=${n}, D=${d}, temperature ${resolved.temperature}) on ${adapter || 'unknown adapter'}; ` +
      `wrote ${join(flags.out, 'result.json')}, grad_z1.npy, grad_z2.npy`,
  );
  return 0;
}
