/**
 * `webgpu-contrastive eval`: the fused loss and its gradients for two views read from `.npy`
 * files, computed on WebGPU: in this process on Node + Dawn (default), or in headless Chromium
 * (`--runtime chromium`). Every flag, input and the output directory are checked before any GPU
 * work; outputs appear in `--out` only once all are written (src/cli/output.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NpyError, readNpy2D, readNpyLabels, writeNpy2D, type Npy2D } from './npy.js';
import { DIAGNOSTIC_NAMES, REFERENCE_LOSS_NAMES as LOSS_NAMES, resolveOptions, type Diagnostics, type LossOptions, type ResolvedLossOptions } from '../options.js';
import { UsageError, lossFlag, packageVersion, parseFlags, type CliContext } from './common.js';
import { lossOptionParseConfig, lossOptionUsage, lossOptionsFromFlags, resolvedOptionFields, withFlagNames } from './flags.js';
import { CLI_RUNTIMES, adapterLabel, openCliGpu, runtimeFlag, type CliRuntimeName } from './gpu.js';
import { prepareOutputDir } from './output.js';
import type { AdapterInfo } from '../runtime/types.js';

/** The files `eval` writes, in the order they are written and moved into place (result last). */
export const EVAL_OUTPUTS = ['grad_z1.npy', 'grad_z2.npy', 'result.json'] as const;

export const EVAL_USAGE = `Usage: webgpu-contrastive eval --loss NAME --z1 A.npy --z2 B.npy --out DIR [options]

Runs the fused loss on WebGPU (Node + Dawn by default) and writes
  DIR/result.json    loss (mean over the 2N anchors; with --bank over the N anchors z1_i, whose
                     positive is z2_i and whose candidates are the K bank rows), options with
                     defaults resolved, runtime, adapter; grad_temperature, diagnostics and
                     (siglip) grad_bias if asked. supcon: the loss is (τ/τ_base)·mean over the
                     2N anchors; siglip: −(1/N) Σ_ij log σ(z_ij (u1_i·u2_j/τ + b))
  DIR/grad_z1.npy    float32 N×D: gradient of the reported mean loss w.r.t. the raw z1
  DIR/grad_z2.npy    float32 N×D: the same for z2 (the bank gets no gradient)
For flatnce the value is the NT-Xent value and the gradients are FlatNCE's (see docs/FORMULAS.md).
Diagnostics (docs/FORMULAS.md): alignment mean‖u1−u2‖², uniformity (batch views; null for N = 1),
positive_probability mean softmax probability of the positive, npc_multiplier = 1 − that.

Inputs: .npy files of float32 ('<f4') or float64 ('<f8'), 2-D N×D, C order, same shape, N ≥ 2,
finite values (N ≥ 1 with --bank, whose rows are checked the same way and must have the views' D).
The GPU computes in float32 (float64 inputs are rounded to float32). Refused as usage errors:
--negatives all with dualtemp, --negatives cross with --bank, a bank of K = 0 rows or another D.
Outputs are written to a temporary directory beside DIR and moved into DIR when all are written.
An existing non-empty DIR is refused unless --force; an output that would overwrite an input is
always refused. Number flags take plain decimals (0.1, 1e-3; not 0x10).

Required:
  --loss NAME           ${LOSS_NAMES.join(' | ')}
  --z1 PATH             first view, N×D
  --z2 PATH             second view, N×D
  --out DIR             output directory (created if missing)
Options:
${lossOptionUsage()}
  --runtime R           ${CLI_RUNTIMES.join(' | ')} (default node: Dawn in this process; chromium: headless Chromium)
  --force               write into an existing non-empty DIR (replaces ${EVAL_OUTPUTS.join(', ')} only)
  -h, --help            show this help`;

/** What \`result.json\` holds. */
export interface EvalResult {
  loss: number;
  loss_name: string;
  n: number;
  d: number;
  /** The resolved value of every loss option (see src/cli/flags.ts), by its result field. */
  [option: string]: unknown;
  /** Which of the options the loss reads (the others are recorded with their defaults). */
  options_used: string[];
  input_dtype: { z1: string; z2: string; bank?: string };
  compute_dtype: 'float32';
  gradients: { z1: string; z2: string; dtype: 'float32'; shape: [number, number]; of: string };
  note?: string;
  /** ∂L/∂τ, with --grad-temperature. */
  grad_temperature?: number;
  grad_bias?: number;
  /** The batch diagnostics (docs/FORMULAS.md "Diagnostics"), with --diagnostics; uniformity is null for N = 1. */
  diagnostics?: { alignment: number; uniformity: number | null; positive_probability: number; npc_multiplier: number };
  /** Where the GPU work ran: 'node' (Dawn in the CLI's process) or 'chromium'. */
  runtime: CliRuntimeName;
  adapter: AdapterInfo;
  version: string;
}

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

function checkFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new Error(`the GPU returned a non-finite ${name} (${values[i]} at index ${i})`);
  }
}

/** The diagnostics as result.json writes them (snake_case; a NaN uniformity, N = 1, as null). */
function diagnosticsField(dg: Diagnostics): NonNullable<EvalResult['diagnostics']> {
  return {
    alignment: dg.alignment,
    uniformity: Number.isFinite(dg.uniformity) ? dg.uniformity : null,
    positive_probability: dg.positiveProbability,
    npc_multiplier: dg.npcMultiplier,
  };
}

/** The \`eval\` command; returns the exit status (throws UsageError / Error for main to report). */
export async function evalCommand(argv: string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags(argv, {
    loss: { type: 'string' },
    z1: { type: 'string' },
    z2: { type: 'string' },
    out: { type: 'string' },
    ...lossOptionParseConfig(),
    runtime: { type: 'string' },
    force: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    console.log(EVAL_USAGE);
    return 0;
  }

  // 1. Flags, before touching any file.
  const loss = lossFlag(flags.loss as string | undefined);
  const z1Path = flags.z1 as string | undefined;
  const z2Path = flags.z2 as string | undefined;
  const outArg = flags.out as string | undefined;
  if (z1Path === undefined) throw new UsageError('missing --z1 PATH (an N×D float32 or float64 .npy file)');
  if (z2Path === undefined) throw new UsageError('missing --z2 PATH (an N×D float32 or float64 .npy file)');
  if (outArg === undefined) throw new UsageError('missing --out DIR (where result.json and the gradients go)');
  const runtime = runtimeFlag(flags.runtime as string | undefined);
  const { options: flagOptions, ignored, files } = lossOptionsFromFlags(loss, flags as Record<string, string | boolean | undefined>);
  const bankPath = files.find((f) => f.key === 'bank')?.path;
  const labelsPath = files.find((f) => f.key === 'labels')?.path;
  // A bank replaces the in-batch candidates; refuse the combination before reading any file.
  if (bankPath !== undefined && flagOptions.negatives === 'cross' && loss !== 'dualtemp') {
    throw new UsageError(`--negatives cross cannot be combined with --bank: the bank rows replace the in-batch candidates (leave out one of them)`);
  }
  const resolveOrUsage = (o: LossOptions, d?: number): ResolvedLossOptions => {
    try {
      return resolveOptions(o, d);
    } catch (e) {
      throw new UsageError(withFlagNames((e as Error).message));
    }
  };
  if (loss === 'supcon' && labelsPath === undefined) {
    throw new UsageError('supcon needs --labels Y.npy: one class label per sample, int32 or int64, shape (N,)');
  }
  // The labels file stands in for its values until it is read (supcon needs labels to resolve).
  resolveOrUsage(labelsPath !== undefined ? { ...flagOptions, labels: new Int32Array(0) } : flagOptions);
  for (const flag of ignored) console.error(`webgpu-contrastive eval: note: ${flag} does not affect ${loss}; ignored`);

  // 2. Inputs.
  const a = readView('--z1', z1Path);
  const b = readView('--z2', z2Path);
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new UsageError(`--z1 ${z1Path} is ${a.rows}×${a.cols} but --z2 ${z2Path} is ${b.rows}×${b.cols}; the two views must have the same shape`);
  }
  const n = a.rows;
  const d = a.cols;
  if (bankPath === undefined && n < 2) {
    throw new UsageError(`the views have N = ${n} row(s); contrastive losses need N ≥ 2 (the other samples are the negatives), or N ≥ 1 with --bank`);
  }
  if (n < 1) throw new UsageError('the views have N = 0 rows; need N ≥ 1 with --bank');
  if (d < 1) throw new UsageError('the views have D = 0 columns; need D ≥ 1');
  const z1 = toFloat32('--z1', z1Path, a);
  const z2 = toFloat32('--z2', z2Path, b);
  let bankView: Npy2D | undefined;
  const options: LossOptions = { ...flagOptions };
  if (bankPath !== undefined) {
    bankView = readView('--bank', bankPath);
    if (bankView.cols !== d) {
      throw new UsageError(`--bank ${bankPath} is ${bankView.rows}×${bankView.cols} but the views are ${n}×${d}; the bank rows must have the views' D = ${d} columns`);
    }
    if (bankView.rows < 1) throw new UsageError(`--bank ${bankPath} has K = 0 rows; a bank needs K ≥ 1 (leave out --bank for in-batch negatives)`);
    options.bank = toFloat32('--bank', bankPath, bankView);
  }
  if (labelsPath !== undefined) {
    let labels: Int32Array;
    try {
      labels = readNpyLabels(labelsPath);
    } catch (e) {
      if (e instanceof NpyError) throw new UsageError(`--labels: ${e.message}`);
      throw e;
    }
    if (labels.length !== n) throw new UsageError(`--labels ${labelsPath} has ${labels.length} labels but the views have N = ${n} rows; one label per sample`);
    options.labels = labels;
  }
  const resolved = resolveOrUsage(options, d);

  // 3. The output directory: refusals and writability, still before any GPU work.
  const inputs = [
    { flag: '--z1', path: z1Path },
    { flag: '--z2', path: z2Path },
    ...(bankPath !== undefined ? [{ flag: '--bank', path: bankPath }] : []),
    ...(labelsPath !== undefined ? [{ flag: '--labels', path: labelsPath }] : []),
  ];
  const out = prepareOutputDir(outArg, EVAL_OUTPUTS, inputs, !!flags.force);
  try {
    // 4. The GPU.
    const gpu = await openCliGpu(runtime, ctx);
    let result: Awaited<ReturnType<typeof gpu.runLoss>>;
    try {
      result = await gpu.runLoss(z1, z2, n, d, options);
    } finally {
      await gpu.close();
    }
    const { gradZ1, gradZ2 } = result;
    if (!gradZ1 || !gradZ2) throw new Error('the GPU run returned no gradients');
    checkFinite('loss', [result.loss]);
    checkFinite('gradient for z1', gradZ1);
    checkFinite('gradient for z2', gradZ2);
    if (resolved.gradTemperature) {
      if (result.gradTemperature === undefined) throw new Error('the GPU run returned no temperature gradient');
      checkFinite('temperature gradient', [result.gradTemperature]);
    }
    if (resolved.gradBias) {
      if (result.gradBias === undefined) throw new Error('the GPU run returned no bias gradient');
      checkFinite('bias gradient', [result.gradBias]);
    }
    if (resolved.diagnostics) {
      if (!result.diagnostics) throw new Error('the GPU run returned no diagnostics');
      const dg = result.diagnostics;
      // uniformity has no pairs to average over when N = 1 (docs/FORMULAS.md): NaN there, written as null.
      checkFinite('diagnostics', DIAGNOSTIC_NAMES.filter((k) => !(k === 'uniformity' && n === 1)).map((k) => dg[k]));
    }

    // 5. Outputs: into the temporary directory, then into place.
    const { fields, used } = resolvedOptionFields(resolved);
    const report: EvalResult = {
      loss: result.loss,
      loss_name: loss,
      n,
      d,
      ...fields,
      options_used: used,
      input_dtype: { z1: a.dtype, z2: b.dtype, ...(bankView ? { bank: bankView.dtype } : {}) },
      compute_dtype: 'float32',
      gradients: {
        z1: 'grad_z1.npy',
        z2: 'grad_z2.npy',
        dtype: 'float32',
        shape: [n, d],
        of: loss === 'flatnce' ? 'FlatNCE objective (= gradient of mean_a (lse_a − s⁺_a)) w.r.t. raw z1, z2' : 'reported mean loss w.r.t. raw z1, z2',
      },
      ...(loss === 'flatnce'
        ? { note: 'flatnce: loss is the NT-Xent value FlatCLR logs; the FlatNCE objective itself is always 0 (docs/FORMULAS.md)' }
        : {}),
      ...(resolved.gradTemperature ? { grad_temperature: result.gradTemperature! } : {}),
      ...(resolved.gradBias ? { grad_bias: result.gradBias! } : {}),
      ...(resolved.diagnostics ? { diagnostics: diagnosticsField(result.diagnostics!) } : {}),
      runtime: gpu.runtime,
      adapter: gpu.adapter,
      version: packageVersion(ctx),
    };
    writeNpy2D(join(out.temp, 'grad_z1.npy'), gradZ1, n, d);
    writeNpy2D(join(out.temp, 'grad_z2.npy'), gradZ2, n, d);
    writeFileSync(join(out.temp, 'result.json'), JSON.stringify(report, null, 2) + '\n');
    out.commit();
    console.log(
      `${loss}: loss ${result.loss} (N=${n}, D=${d}, temperature ${resolved.temperature}) on ${adapterLabel(gpu.adapter)} (${gpu.runtime}); ` +
        `wrote ${join(outArg, 'result.json')}, grad_z1.npy, grad_z2.npy`,
    );
    return 0;
  } catch (e) {
    out.abort();
    throw e;
  }
}
