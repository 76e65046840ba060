/**
 * The `webgpu-contrastive` CLI, run as a child process (`node bin/webgpu-contrastive.mjs ...`):
 * eval round trips through .npy files checked against the float64 reference on both runtimes
 * (Node + Dawn in the CLI's process, and --runtime chromium), every input error (refused before
 * any GPU work), the output directory rules, and the .npy reader/writer on its own.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNpy2D, parseNpy2D, readNpy2D, writeNpy2D } from '../src/cli/npy.js';
import { DIAGNOSTIC_NAMES, type LossOptions } from '../src/options.js';
import { gaussian, mulberry32 } from '../src/random.js';
import { referenceLoss } from '../src/reference/index.js';
import { gradientError, lossError, temperatureGradientError } from './support/tolerances.js';

const BIN = fileURLToPath(new URL('../bin/webgpu-contrastive.mjs', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI; never throws on a non-zero exit. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 240_000): Promise<Run> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: merged, maxBuffer: 16 << 20, timeout },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Seeded standard normals (src/random.ts). */
function gaussianArray(len: number, seed: number): Float64Array {
  const u = mulberry32(seed);
  return Float64Array.from({ length: len }, () => gaussian(u));
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-contrastive-cli-test-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npy reader/writer', () => {
  it('round-trips float32 and float64 bit-exact, header aligned', () => {
    for (const data of [Float32Array.from(gaussianArray(15, 1)), gaussianArray(15, 2)]) {
      const bytes = formatNpy2D(data, 3, 5);
      const headerEnd = bytes.indexOf(0x0a) + 1;
      expect(headerEnd % 8).toBe(0);
      const back = parseNpy2D(bytes);
      expect(back.rows).toBe(3);
      expect(back.cols).toBe(5);
      expect(back.dtype).toBe(data instanceof Float32Array ? 'float32' : 'float64');
      expect(back.data.constructor).toBe(data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
    const path = join(dir, 'rt.npy');
    writeNpy2D(path, new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3);
    expect(Array.from(readNpy2D(path).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads format 2.0 headers, and empty shapes', () => {
    const data = new Uint8Array(new Float64Array([1.5, -2.5]).buffer);
    const back = parseNpy2D(npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", data, 2), 'v2.npy');
    expect([back.rows, back.cols, back.dtype]).toEqual([1, 2, 'float64']);
    expect(Array.from(back.data)).toEqual([1.5, -2.5]);
    expect(parseNpy2D(formatNpy2D(new Float32Array(0), 0, 4)).rows).toBe(0);
  });

  it('refuses what it cannot read, naming the file and the problem', () => {
    const ok = formatNpy2D(new Float32Array(6), 2, 3);
    const text = (b: Uint8Array) => new TextDecoder('latin1').decode(b);
    const withHeader = (edit: (h: string) => string) => {
      const end = ok.indexOf(0x0a) + 1;
      const h = edit(text(ok.subarray(10, end)));
      const out = new Uint8Array(ok.length);
      out.set(ok);
      out.set(new TextEncoder().encode(h), 10);
      return out;
    };
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('hello world, not numpy'), /f\.npy is not a \.npy file/],
      [withHeader((h) => h.replace("'<f4'", "'>f4'")), /dtype '>f4'.*little-endian float/],
      [withHeader((h) => h.replace("'<f4'", "'<i4'")), /dtype '<i4'/],
      [withHeader((h) => h.replace('False', 'True ')), /Fortran/],
      [withHeader((h) => h.replace('(2,3)', '(6,) ')), /shape \(6,\), expected a 2-D array/],
      [withHeader((h) => h.replace('(2,3)', '(2,4)')), /holds 24 bytes of data.*2×4 float32 = 32 bytes/],
      [ok.subarray(0, ok.length - 2), /not a whole number of float32 values/],
      [ok.subarray(0, 20), /truncated/],
    ];
    for (const [bytes, message] of cases) expect(() => parseNpy2D(bytes, 'f.npy')).toThrow(message);
    expect(() => readNpy2D(join(dir, 'missing.npy'))).toThrow(/cannot read .*missing\.npy: no such file/);
  });

  const hasNumpy = (() => {
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasNumpy)('interoperates with NumPy both ways (skipped without python3 + numpy)', () => {
    const fromNumpy = join(dir, 'np.npy');
    const fromUs = join(dir, 'us.npy');
    writeNpy2D(fromUs, Float32Array.from([0.5, -1, 3.25, 7, 1e-3, 2]), 3, 2);
    const out = execFileSync('python3', [
      '-c',
      `import numpy as np, sys
a = np.load(sys.argv[2]); assert a.dtype == np.float32 and a.shape == (3, 2), (a.dtype, a.shape)
print(','.join(repr(float(x)) for x in a.ravel()))
np.save(sys.argv[1], np.arange(12, dtype=np.float64).reshape(3, 4) / 7)`,
      fromNumpy,
      fromUs,
    ]).toString();
    expect(out.trim().split(',').map(Number)).toEqual(Array.from(Float32Array.from([0.5, -1, 3.25, 7, 1e-3, 2])));
    const back = readNpy2D(fromNumpy);
    expect([back.rows, back.cols, back.dtype]).toEqual([3, 4, 'float64']);
    expect(Array.from(back.data)).toEqual(Array.from({ length: 12 }, (_, i) => i / 7));
  });
});

describe.concurrent('webgpu-contrastive eval', () => {
  const n = 24;
  const d = 20; // not a multiple of 4: the padded columns must not leak into the result
  const z1 = gaussianArray(n * d, 11);
  const noise = gaussianArray(n * d, 12);
  const z2 = z1.map((v, i) => v + 0.7 * noise[i]!);

  it('float32 and float64 inputs, both orders, on Dawn: loss and gradients match the float64 reference', async () => {
    // Two runs at once in the CLI's process on Dawn: float32 z1 + float64 z2, and the other way
    // round. The Chromium runtime's eval (float64 data crossing the page RPC, rounded to f32) is
    // covered by the flag round trips below (a float64 bank; supcon's labels), each launch of
    // which costs a browser and a kernel compile.
    const runs: { name: string; args: string[]; options: LossOptions; dtypes: [string, string]; runtime: string }[] = [
      {
        name: 'a',
        args: ['--loss', 'ntxent', '--temperature', '0.3'],
        options: { loss: 'ntxent', temperature: 0.3 },
        dtypes: ['float32', 'float64'],
        runtime: 'node',
      },
      {
        name: 'b',
        args: ['--loss', 'dclw', '--sigma', '0.7', '--weight-grad'],
        options: { loss: 'dclw', sigma: 0.7, weightGrad: true },
        dtypes: ['float64', 'float32'],
        runtime: 'node',
      },
    ];
    const prepared = runs.map((r) => {
      const p1 = join(dir, `${r.name}-z1.npy`);
      const p2 = join(dir, `${r.name}-z2.npy`);
      const asType = (z: Float64Array, t: string) => (t === 'float32' ? Float32Array.from(z) : z);
      writeNpy2D(p1, asType(z1, r.dtypes[0]), n, d);
      writeNpy2D(p2, asType(z2, r.dtypes[1]), n, d);
      const out = join(dir, `${r.name}-out`);
      return { ...r, out, argv: ['eval', ...r.args, '--z1', p1, '--z2', p2, '--out', out] };
    });
    const results = await Promise.all(prepared.map((r) => cli(r.argv)));
    for (const [i, r] of prepared.entries()) {
      const run = results[i]!;
      expect(run.stderr, `run ${r.name} stderr`).toBe('');
      expect(run.code, `run ${r.name} exit`).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^${r.options.loss}: loss `));

      const json = JSON.parse(readFileSync(join(r.out, 'result.json'), 'utf8'));
      const ref = referenceLoss(z1, z2, n, d, r.options); // on the float64 data: f32 rounding is far below the tolerances
      const lossVerdict = lossError(json.loss, ref.loss);
      expect(lossVerdict.ok, `${r.name} loss ${json.loss} vs ${ref.loss}: ${lossVerdict.describe}`).toBe(true);
      expect(json).toMatchObject({
        loss_name: r.options.loss,
        n,
        d,
        temperature: r.options.temperature ?? 0.1,
        sigma: r.options.sigma ?? 0.5,
        weight_grad: r.options.weightGrad ?? false,
        dt_m: 10,
        input_dtype: { z1: r.dtypes[0], z2: r.dtypes[1] },
        runtime: r.runtime,
      });
      expect(run.stdout).toContain(`(${r.runtime})`);
      expect(typeof json.adapter.vendor).toBe('string');
      expect(typeof json.adapter.architecture).toBe('string');
      expect(typeof json.adapter.description).toBe('string');

      for (const [file, want, unprojected] of [
        ['grad_z1.npy', ref.gradZ1, ref.unprojectedNorm.z1],
        ['grad_z2.npy', ref.gradZ2, ref.unprojectedNorm.z2],
      ] as const) {
        const g = readNpy2D(join(r.out, file));
        expect([g.rows, g.cols, g.dtype]).toEqual([n, d, 'float32']);
        const verdict = gradientError(g.data as Float32Array, want, d, unprojected);
        expect(verdict.ok, `${r.name} ${file}: ${verdict.describe}`).toBe(true);
      }
    }
  });

  it("issue 11's flags (--negatives, --bank, --grad-temperature, --diagnostics) round-trip: result.json and gradients match the float64 reference", async () => {
    // Fresh inputs every run; CLI_TEST_SEED=<seed> reproduces one.
    const seed = Number(process.env.CLI_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`cli second-wave round trip: seed ${seed} (CLI_TEST_SEED=${seed} to reproduce)`);
    const [n2, d2, k] = [5, 7, 9];
    const runs: { name: string; args: string[]; options: LossOptions; n: number; bank?: Float64Array; runtime: string }[] = [
      {
        name: 'clip',
        args: ['--loss', 'ntxent', '--negatives', 'cross', '--temperature', '0.07', '--grad-temperature', '--diagnostics'],
        options: { loss: 'ntxent', negatives: 'cross', temperature: 0.07, gradTemperature: true, diagnostics: true },
        n: n2,
        runtime: 'node',
      },
      {
        // The bank crosses the page RPC: a float64 file, rounded to f32 on the way in.
        name: 'moco',
        args: ['--loss', 'dcl', '--grad-temperature', '--diagnostics', '--runtime', 'chromium'],
        options: { loss: 'dcl', gradTemperature: true, diagnostics: true },
        n: n2,
        bank: gaussianArray(k * d2, seed + 2),
        runtime: 'chromium',
      },
      {
        // N = 1 is allowed in bank form; uniformity has no pairs and is written as null.
        name: 'bank-n1',
        args: ['--loss', 'dualtemp', '--diagnostics'],
        options: { loss: 'dualtemp', diagnostics: true },
        n: 1,
        bank: gaussianArray(k * d2, seed + 3),
        runtime: 'node',
      },
    ];
    const prepared = runs.map((r) => {
      const a = gaussianArray(r.n * d2, seed);
      const noise = gaussianArray(r.n * d2, seed + 1);
      const b = a.map((v, i) => v + 0.7 * noise[i]!);
      const p1 = join(dir, `w2-${r.name}-z1.npy`);
      const p2 = join(dir, `w2-${r.name}-z2.npy`);
      writeNpy2D(p1, Float32Array.from(a), r.n, d2);
      writeNpy2D(p2, Float32Array.from(b), r.n, d2);
      const bankArgs: string[] = [];
      if (r.bank) {
        const pb = join(dir, `w2-${r.name}-bank.npy`);
        writeNpy2D(pb, r.bank, k, d2);
        bankArgs.push('--bank', pb);
      }
      const out = join(dir, `w2-${r.name}-out`);
      return { ...r, z1: Float32Array.from(a), z2: Float32Array.from(b), out, argv: ['eval', ...r.args, ...bankArgs, '--z1', p1, '--z2', p2, '--out', out] };
    });
    const results = await Promise.all(prepared.map((r) => cli(r.argv)));
    for (const [i, r] of prepared.entries()) {
      const run = results[i]!;
      expect(run.stderr, `run ${r.name} stderr`).toBe('');
      expect(run.code, `run ${r.name} exit`).toBe(0);
      const json = JSON.parse(readFileSync(join(r.out, 'result.json'), 'utf8'));
      const ref = referenceLoss(r.z1, r.z2, r.n, d2, { ...r.options, ...(r.bank ? { bank: r.bank } : {}) });
      const where = `${r.name} (seed ${seed})`;
      const lossVerdict = lossError(json.loss, ref.loss);
      expect(lossVerdict.ok, `${where} loss ${json.loss} vs ${ref.loss}: ${lossVerdict.describe}`).toBe(true);
      expect(json).toMatchObject({
        loss_name: r.options.loss,
        n: r.n,
        d: d2,
        negatives: r.options.negatives ?? (r.options.loss === 'dualtemp' ? 'cross' : 'all'),
        bank_rows: r.bank ? k : 0,
        input_dtype: { z1: 'float32', z2: 'float32', ...(r.bank ? { bank: 'float64' } : {}) },
        runtime: r.runtime,
      });
      if (r.options.gradTemperature) {
        const tv = temperatureGradientError(json.grad_temperature, ref.gradTemperature, json.temperature);
        expect(tv.ok, `${where} grad_temperature ${tv.describe}`).toBe(true);
        console.log(`${where} grad_temperature: ${tv.describe}`);
      } else {
        expect(json, `${where}: grad_temperature not asked for`).not.toHaveProperty('grad_temperature');
      }
      const snake = { alignment: 'alignment', uniformity: 'uniformity', positiveProbability: 'positive_probability', npcMultiplier: 'npc_multiplier' } as const;
      expect(Object.keys(json.diagnostics).sort()).toEqual(Object.values(snake).sort());
      for (const name of DIAGNOSTIC_NAMES) {
        const got = json.diagnostics[snake[name]];
        const want = ref.diagnostics[name];
        if (Number.isNaN(want)) {
          expect(got, `${where} diagnostics.${snake[name]} (reference NaN)`).toBeNull();
          continue;
        }
        const err = Math.abs(got - want);
        expect(err <= 1e-4 * Math.abs(want) || err <= 1e-6, `${where} diagnostics.${snake[name]} ${got} vs ${want}`).toBe(true);
        console.log(`${where} diagnostics.${snake[name]}: ${got} vs ${want}, abs error ${err.toExponential(2)}`);
      }
      for (const [file, want, unprojected] of [
        ['grad_z1.npy', ref.gradZ1, ref.unprojectedNorm.z1],
        ['grad_z2.npy', ref.gradZ2, ref.unprojectedNorm.z2],
      ] as const) {
        const g = readNpy2D(join(r.out, file));
        expect([g.rows, g.cols, g.dtype]).toEqual([r.n, d2, 'float32']);
        const verdict = gradientError(g.data as Float32Array, want, d2, unprojected);
        expect(verdict.ok, `${where} ${file}: ${verdict.describe}`).toBe(true);
        console.log(`${where} ${file}: ${verdict.describe}`);
      }
      console.log(`${where} loss: ${lossVerdict.describe}`);
    }
  });

  it("issue 18's flags (supcon --labels --base-temperature, siglip --bias --grad-bias) round-trip: result.json and gradients match the float64 reference", async () => {
    const seed = Number(process.env.CLI_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`cli third-wave round trip: seed ${seed} (CLI_TEST_SEED=${seed} to reproduce)`);
    const [n3, d3] = [6, 5];
    const labels = Int32Array.from([4, -9, 4, 100000, -9, 4]);
    // int64 labels, as np.save writes np.array([...]) on most platforms; supcon crosses the page RPC.
    const labelsPath = join(dir, 'labels-i8.npy');
    writeFileSync(labelsPath, npyWithHeader(`{'descr': '<i8', 'fortran_order': False, 'shape': (${n3},), }`, new Uint8Array(BigInt64Array.from(Array.from(labels, BigInt)).buffer)));
    const runs: { name: string; args: string[]; options: LossOptions; runtime: string }[] = [
      {
        name: 'supcon',
        args: ['--loss', 'supcon', '--labels', labelsPath, '--temperature', '0.1', '--base-temperature', '0.07', '--grad-temperature', '--runtime', 'chromium'],
        options: { loss: 'supcon', labels, temperature: 0.1, baseTemperature: 0.07, gradTemperature: true },
        runtime: 'chromium',
      },
      {
        name: 'siglip',
        // A negative value needs the --flag=value form (node:util parseArgs refuses '--bias -5' as ambiguous).
        args: ['--loss', 'siglip', '--bias=-5', '--temperature', '0.05', '--grad-temperature', '--grad-bias'],
        options: { loss: 'siglip', bias: -5, temperature: 0.05, gradTemperature: true, gradBias: true },
        runtime: 'node',
      },
    ];
    const z1 = gaussianArray(n3 * d3, seed);
    const z2 = gaussianArray(n3 * d3, seed + 1).map((v, i) => z1[i]! + 0.5 * v);
    const p1 = join(dir, 'tw-z1.npy');
    const p2 = join(dir, 'tw-z2.npy');
    writeNpy2D(p1, z1, n3, d3);
    writeNpy2D(p2, z2, n3, d3);
    const results = await Promise.all(runs.map((r) => cli(['eval', ...r.args, '--z1', p1, '--z2', p2, '--out', join(dir, `tw-${r.name}`)])));
    for (const [i, r] of runs.entries()) {
      const run = results[i]!;
      const where = `${r.name} (seed ${seed})`;
      expect(run.stderr, `${where} stderr`).toBe('');
      expect(run.code, `${where} exit`).toBe(0);
      const json = JSON.parse(readFileSync(join(dir, `tw-${r.name}`, 'result.json'), 'utf8'));
      const ref = referenceLoss(z1, z2, n3, d3, r.options);
      const lossVerdict = lossError(json.loss, ref.loss, ref.perAnchor);
      expect(lossVerdict.ok, `${where} loss ${json.loss} vs ${ref.loss}: ${lossVerdict.describe}`).toBe(true);
      const tv = temperatureGradientError(json.grad_temperature, ref.gradTemperature, r.options.temperature!);
      expect(tv.ok, `${where} grad_temperature ${tv.describe}`).toBe(true);
      expect(json).toMatchObject({ loss_name: r.options.loss, n: n3, d: d3, temperature: r.options.temperature, runtime: r.runtime });
      if (r.name === 'siglip') {
        expect(json.bias).toBe(-5);
        expect(json.base_temperature).toBeUndefined();
        expect(Math.abs(json.grad_bias - ref.gradBias!), `${where} grad_bias ${json.grad_bias} vs ${ref.gradBias}`).toBeLessThanOrEqual(Math.max(1e-4 * Math.abs(ref.gradBias!), 1e-7));
      } else {
        expect(json.base_temperature).toBe(0.07);
        expect(json.bias).toBeUndefined();
        expect(json.grad_bias).toBeUndefined();
      }
      for (const [file, want, unprojected] of [
        ['grad_z1.npy', ref.gradZ1, ref.unprojectedNorm.z1],
        ['grad_z2.npy', ref.gradZ2, ref.unprojectedNorm.z2],
      ] as const) {
        const verdict = gradientError(readNpy2D(join(dir, `tw-${r.name}`, file)).data as Float32Array, want, d3, unprojected);
        expect(verdict.ok, `${where} ${file}: ${verdict.describe}`).toBe(true);
      }
      console.log(`${where}: loss ${lossVerdict.describe}; grad_temperature ${tv.describe}${r.name === 'siglip' ? `; grad_bias ${json.grad_bias} vs ${ref.gradBias}` : ''}`);
    }
  });

  describe('refuses bad input before any GPU work, with exit 2 and a one-line message', () => {
    // These run with --runtime chromium and CHROME_PATH pointing nowhere: a run that got as far as
    // the GPU would exit 1 instead. Both runtimes share the code up to that point (src/cli/eval.ts).
    const noChrome = { CHROME_PATH: join(tmpdir(), 'no-such-chromium') };
    const viaChromium = ['--runtime', 'chromium'];
    let good1: string;
    let good2: string;
    beforeAll(() => {
      good1 = join(dir, 'good1.npy');
      good2 = join(dir, 'good2.npy');
      writeNpy2D(good1, Float32Array.from(gaussianArray(8 * 4, 21)), 8, 4);
      writeNpy2D(good2, Float32Array.from(gaussianArray(8 * 4, 22)), 8, 4);
      writeNpy2D(join(dir, 'narrow.npy'), Float32Array.from(gaussianArray(8 * 3, 23)), 8, 3);
      writeNpy2D(join(dir, 'short.npy'), Float32Array.from(gaussianArray(7 * 4, 24)), 7, 4);
      writeNpy2D(join(dir, 'one-row.npy'), new Float32Array(4).fill(1), 1, 4);
      const nan = Float32Array.from(gaussianArray(8 * 4, 25));
      nan[2 * 4 + 3] = NaN;
      writeNpy2D(join(dir, 'nan.npy'), nan, 8, 4);
      const big = gaussianArray(8 * 4, 26);
      big[5] = 1e300;
      writeNpy2D(join(dir, 'big.npy'), big, 8, 4);
      // A 1-D array and an integer array, as NumPy writes them.
      writeFileSync(join(dir, 'vector.npy'), npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", new Uint8Array(32)));
      writeFileSync(join(dir, 'ints.npy'), npyWithHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (8, 4), }", new Uint8Array(256)));
      writeFileSync(join(dir, 'text.npy'), 'not numpy at all');
      writeNpy2D(join(dir, 'bank-k3.npy'), gaussianArray(3 * 4, 27), 3, 4);
      writeNpy2D(join(dir, 'bank-d5.npy'), Float32Array.from(gaussianArray(3 * 5, 28)), 3, 5);
      writeNpy2D(join(dir, 'bank-k0.npy'), new Float32Array(0), 0, 4);
      // SupCon labels for the 8-row views: good ones (int32), too few, floats, 2-D, beyond int32.
      const i4 = (values: number[], shape = `(${values.length},)`) => npyWithHeader(`{'descr': '<i4', 'fortran_order': False, 'shape': ${shape}, }`, new Uint8Array(Int32Array.from(values).buffer));
      writeFileSync(join(dir, 'labels8.npy'), i4([0, 1, 0, 1, 2, 2, 0, 1]));
      writeFileSync(join(dir, 'labels7.npy'), i4([0, 1, 0, 1, 2, 2, 0]));
      writeFileSync(join(dir, 'labels2d.npy'), i4([0, 1, 0, 1, 2, 2, 0, 1], '(8, 1)'));
      writeFileSync(join(dir, 'labels-f4.npy'), npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", new Uint8Array(32)));
      writeFileSync(join(dir, 'labels-big.npy'), npyWithHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (8,), }", new Uint8Array(BigInt64Array.from([0n, 1n, 0n, 1n, 2n, 2n, 0n, 1n << 40n]).buffer)));
    });

    const cases: [string, () => string[], RegExp][] = [
      ['missing file', () => ['--loss', 'dcl', '--z1', join(dir, 'missing.npy'), '--z2', good2], /--z1: cannot read .*missing\.npy: no such file/],
      ['not a .npy file', () => ['--loss', 'dcl', '--z1', good1, '--z2', join(dir, 'text.npy')], /--z2: .*text\.npy is not a \.npy file/],
      ['1-D array', () => ['--loss', 'dcl', '--z1', join(dir, 'vector.npy'), '--z2', good2], /vector\.npy has shape \(8,\), expected a 2-D array/],
      ['integer array', () => ['--loss', 'dcl', '--z1', good1, '--z2', join(dir, 'ints.npy')], /ints\.npy has dtype '<i8', expected a little-endian float array/],
      ['mismatched columns', () => ['--loss', 'dcl', '--z1', good1, '--z2', join(dir, 'narrow.npy')], /is 8×4 but --z2 .*narrow\.npy is 8×3; the two views must have the same shape/],
      ['mismatched rows', () => ['--loss', 'dcl', '--z1', join(dir, 'short.npy'), '--z2', good2], /is 7×4 but --z2 .* is 8×4/],
      ['N = 1', () => ['--loss', 'dcl', '--z1', join(dir, 'one-row.npy'), '--z2', join(dir, 'one-row.npy')], /N = 1 row.*need N ≥ 2/],
      ['NaN value', () => ['--loss', 'dcl', '--z1', join(dir, 'nan.npy'), '--z2', good2], /nan\.npy has a non-finite value NaN at row 2, column 3/],
      ['beyond float32', () => ['--loss', 'dcl', '--z1', good1, '--z2', join(dir, 'big.npy')], /big\.npy has a value 1e\+300 outside the float32 range at row 1, column 1/],
      ['unknown loss', () => ['--loss', 'simclr', '--z1', good1, '--z2', good2], /unknown loss 'simclr'; expected one of ntxent, dcl, dclw, flatnce, dualtemp/],
      ['missing --loss', () => ['--z1', good1, '--z2', good2], /missing --loss/],
      ['missing --z2', () => ['--loss', 'dcl', '--z1', good1], /missing --z2/],
      ['temperature 0', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature', '0'], /--temperature must be > 0, got 0/],
      ['temperature < 0', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature=-0.5'], /--temperature must be > 0, got -0\.5/],
      ['temperature not a number', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature', '0.1x'], /--temperature must be a plain decimal number .*got '0\.1x'/],
      ['temperature in hexadecimal', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature', '0x10'], /--temperature must be a plain decimal number .*got '0x10'/],
      ['temperature in binary', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature', '0b1'], /--temperature must be a plain decimal number .*got '0b1'/],
      ['temperature with blanks', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature', ' 0.5'], /--temperature must be a plain decimal number .*got ' 0\.5'/],
      ['temperature empty', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature', ''], /--temperature must be a plain decimal number .*got ''/],
      ['dt-m with separators', () => ['--loss', 'dualtemp', '--z1', good1, '--z2', good2, '--dt-m', '1_0'], /--dt-m must be a plain decimal number .*got '1_0'/],
      ['infinite sigma', () => ['--loss', 'dclw', '--z1', good1, '--z2', good2, '--sigma', 'Infinity'], /--sigma must be a plain decimal number .*got 'Infinity'/],
      ['sigma overflowing', () => ['--loss', 'dclw', '--z1', good1, '--z2', good2, '--sigma', '1e999'], /--sigma must be a finite number, got '1e999'/],
      ['unknown runtime', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--runtime', 'deno'], /--runtime must be one of node, chromium, got 'deno'/],
      ['--negatives all with dualtemp', () => ['--loss', 'dualtemp', '--z1', good1, '--z2', good2, '--negatives', 'all'], /negatives: 'all' is not defined for dualtemp, which is cross-view by definition/],
      ['--negatives not a set', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--negatives', 'some'], /--negatives must be one of all, cross, got 'some'/],
      ['--bank with --negatives cross', () => ['--loss', 'ntxent', '--z1', good1, '--z2', good2, '--negatives', 'cross', '--bank', join(dir, 'bank-k3.npy')], /--negatives cross cannot be combined with --bank/],
      ['--bank whose D differs', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--bank', join(dir, 'bank-d5.npy')], /--bank .*bank-d5\.npy is 3×5 but the views are 8×4; the bank rows must have the views' D = 4 columns/],
      ['--bank with K = 0', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--bank', join(dir, 'bank-k0.npy')], /--bank .*bank-k0\.npy has K = 0 rows; a bank needs K ≥ 1/],
      ['--bank missing', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--bank', join(dir, 'missing.npy')], /--bank: cannot read .*missing\.npy: no such file/],
      ['--bank not a .npy file', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--bank', join(dir, 'text.npy')], /--bank: .*text\.npy is not a \.npy file/],
      ['--bank with a NaN', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--bank', join(dir, 'nan.npy')], /--bank .*nan\.npy has a non-finite value NaN at row 2, column 3/],
      ['--bank with N = 0 views', () => ['--loss', 'dcl', '--z1', join(dir, 'bank-k0.npy'), '--z2', join(dir, 'bank-k0.npy'), '--bank', join(dir, 'bank-k3.npy')], /the views have N = 0 rows; need N ≥ 1 with --bank/],
      ['unknown flag', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--tau', '1'], /Unknown option '--tau'/],
      // issue 18: labels and the options that do not apply
      ['supcon without --labels', () => ['--loss', 'supcon', '--z1', good1, '--z2', good2], /supcon needs --labels Y\.npy/],
      ['--labels of the wrong length', () => ['--loss', 'supcon', '--z1', good1, '--z2', good2, '--labels', join(dir, 'labels7.npy')], /--labels .*labels7\.npy has 7 labels but the views have N = 8 rows/],
      ['--labels of floats', () => ['--loss', 'supcon', '--z1', good1, '--z2', good2, '--labels', join(dir, 'labels-f4.npy')], /--labels: .*labels-f4\.npy has dtype '<f4', expected integer class labels \('<i4' int32 or '<i8' int64\)/],
      ['--labels 2-D', () => ['--loss', 'supcon', '--z1', good1, '--z2', good2, '--labels', join(dir, 'labels2d.npy')], /--labels: .*labels2d\.npy has shape \(8, 1\), expected a 1-D array of shape \(N,\)/],
      ['--labels beyond int32', () => ['--loss', 'supcon', '--z1', good1, '--z2', good2, '--labels', join(dir, 'labels-big.npy')], /--labels: .*labels-big\.npy has label 1099511627776 at index 7, outside the int32 range/],
      ['--labels with ntxent', () => ['--loss', 'ntxent', '--z1', good1, '--z2', good2, '--labels', join(dir, 'labels8.npy')], /--labels does not apply to ntxent: it is for supcon only/],
      ['--bias with supcon', () => ['--loss', 'supcon', '--z1', good1, '--z2', good2, '--labels', join(dir, 'labels8.npy'), '--bias', '1'], /--bias does not apply to supcon: it is for siglip only/],
      ['--sigma with supcon', () => ['--loss', 'supcon', '--z1', good1, '--z2', good2, '--labels', join(dir, 'labels8.npy'), '--sigma', '0.5'], /--sigma does not apply to supcon: it is for dclw only/],
      ['--negatives with siglip', () => ['--loss', 'siglip', '--z1', good1, '--z2', good2, '--negatives', 'all'], /--negatives does not apply to siglip/],
      ['--bias -5 without =', () => ['--loss', 'siglip', '--z1', good1, '--z2', good2, '--bias', '-5'], /--bias' argument is ambiguous/],
    ];
    it.each(cases)('%s', async (_label, args, message) => {
      const run = await cli(['eval', ...viaChromium, ...args(), '--out', join(dir, 'never')], noChrome);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^webgpu-contrastive eval: error: /);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(existsSync(join(dir, 'never', 'result.json'))).toBe(false);
    });

    it('missing --out', async () => {
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', good1, '--z2', good2], noChrome);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^webgpu-contrastive eval: error: missing --out DIR/);
    });

    it('--out that is a file', async () => {
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', good1, '--z2', good2, '--out', good1], noChrome);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--out .*good1\.npy exists and is not a directory/);
    });

    it('a missing Chromium is a runtime error (exit 1) once the inputs are fine; nothing is left behind', async () => {
      const out = join(dir, 'no-chrome');
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', good1, '--z2', good2, '--out', out], noChrome);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^webgpu-contrastive eval: error: CHROME_PATH=.*no-such-chromium does not exist\n$/);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith('.no-chrome.tmp-'))).toEqual([]);
    });

    it('an input that is a pipe is refused (no read that blocks)', async () => {
      const fifo = join(dir, 'fifo.npy');
      execFileSync('mkfifo', [fifo]);
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', fifo, '--z2', good2, '--out', join(dir, 'never')], noChrome, 30_000);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--z1: cannot read .*fifo\.npy: not a regular file/);
    });
  });

  describe('output directory rules', () => {
    const noChrome = { CHROME_PATH: join(tmpdir(), 'no-such-chromium') };
    const viaChromium = ['--runtime', 'chromium'];
    let v1: string;
    let v2: string;
    beforeAll(() => {
      v1 = join(dir, 'rules-z1.npy');
      v2 = join(dir, 'rules-z2.npy');
      writeNpy2D(v1, Float32Array.from(gaussianArray(6 * 5, 31)), 6, 5);
      writeNpy2D(v2, Float32Array.from(gaussianArray(6 * 5, 32)), 6, 5);
    });
    const snapshot = (d: string) => Object.fromEntries(readdirSync(d).sort().map((f) => [f, readFileSync(join(d, f), 'latin1')]));

    it('an existing non-empty --out is refused without --force, and left as it was', async () => {
      const out = join(dir, 'taken');
      mkdirSync(out);
      writeFileSync(join(out, 'result.json'), '{"old": true}');
      writeFileSync(join(out, 'notes.txt'), 'mine');
      const before = snapshot(out);
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', v1, '--z2', v2, '--out', out], noChrome);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--out .*taken exists and is not empty \(notes\.txt, result\.json\); .*--force/);
      expect(snapshot(out)).toEqual(before);
    });

    it('an --out that would overwrite an input is refused, even with --force', async () => {
      const out = join(dir, 'self');
      mkdirSync(out);
      const input = join(out, 'grad_z1.npy');
      writeNpy2D(input, Float32Array.from(gaussianArray(6 * 5, 33)), 6, 5);
      const before = snapshot(out);
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', input, '--z2', v2, '--out', out, '--force'], noChrome);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--out .*self would overwrite the input --z1 .*grad_z1\.npy \(as grad_z1\.npy\); .*--force does not allow this/);
      expect(snapshot(out)).toEqual(before);
      // The bank is an input like the views.
      const bankOut = join(dir, 'self-bank');
      mkdirSync(bankOut);
      const bank = join(bankOut, 'result.json');
      writeNpy2D(bank, Float32Array.from(gaussianArray(3 * 5, 34)), 3, 5);
      const bankBefore = snapshot(bankOut);
      const bankRun = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', v1, '--z2', v2, '--bank', bank, '--out', bankOut, '--force'], noChrome);
      expect(bankRun.code).toBe(2);
      expect(bankRun.stderr).toMatch(/--out .*self-bank would overwrite the input --bank .*result\.json \(as result\.json\); .*--force does not allow this/);
      expect(snapshot(bankOut)).toEqual(bankBefore);
    });

    it('an unwritable --out is refused before any GPU work, at once (--out /proc/x used to hang)', async () => {
      const t0 = Date.now();
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', v1, '--z2', v2, '--out', '/proc/webgpu-contrastive-x'], noChrome, 30_000);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^webgpu-contrastive eval: error: --out \/proc\/webgpu-contrastive-x: cannot (write in|create the directory) \/proc/);
      expect(Date.now() - t0).toBeLessThan(30_000);
      const nested = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', v1, '--z2', v2, '--out', '/proc/self/x/y'], noChrome, 30_000);
      expect(nested.code).toBe(2);
      expect(nested.stderr).toMatch(/--out \/proc\/self\/x\/y: cannot create the directory \/proc\/self\/x/);
    });

    it('a GPU failure leaves a forced --out untouched and no temporary directory', async () => {
      const out = join(dir, 'kept');
      mkdirSync(out);
      writeFileSync(join(out, 'result.json'), '{"old": true}');
      writeFileSync(join(out, 'grad_z1.npy'), 'old gradient');
      const before = snapshot(out);
      const run = await cli(['eval', ...viaChromium, '--loss', 'dcl', '--z1', v1, '--z2', v2, '--out', out, '--force'], noChrome);
      expect(run.code).toBe(1);
      expect(snapshot(out)).toEqual(before);
      expect(readdirSync(dir).filter((f) => f.startsWith('.kept.tmp-'))).toEqual([]);
    });

    it('--force replaces only its own files; a process started without SwiftShader relaunches itself onto it', async () => {
      const out = join(dir, 'forced');
      mkdirSync(out);
      writeFileSync(join(out, 'result.json'), '{"old": true}');
      writeFileSync(join(out, 'notes.txt'), 'mine');
      // Without the variables vitest.config.ts set, the CLI must find SwiftShader itself (or a system driver).
      const run = await cli(['eval', '--loss', 'dcl', '--z1', v1, '--z2', v2, '--out', out, '--force'], { VK_ICD_FILENAMES: undefined, LD_LIBRARY_PATH: undefined });
      expect(run.stderr.replace(/Warning: Couldn't load Vulkan[^\n]*\n[^\n]*\n/g, '')).toBe('');
      expect(run.code).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['grad_z1.npy', 'grad_z2.npy', 'notes.txt', 'result.json']);
      expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
      const json = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
      expect(json.runtime).toBe('node');
      const a = readNpy2D(v1).data as Float32Array;
      const b = readNpy2D(v2).data as Float32Array;
      const ref = referenceLoss(a, b, 6, 5, { loss: 'dcl' });
      expect(lossError(json.loss, ref.loss).ok, `loss ${json.loss} vs ${ref.loss}`).toBe(true);
      const g = readNpy2D(join(out, 'grad_z2.npy')).data as Float32Array;
      const verdict = gradientError(g, ref.gradZ2, 5, ref.unprojectedNorm.z2);
      expect(verdict.ok, verdict.describe).toBe(true);
      expect(readdirSync(dir).filter((f) => f.startsWith('.forced.tmp-'))).toEqual([]);
    });
  });

  it('prints usage for --help, and refuses unknown commands', async () => {
    const [top, evalHelp, demoHelp, unknown, none] = await Promise.all([
      cli(['--help']),
      cli(['eval', '--help']),
      cli(['demo', '--help']),
      cli(['train']),
      cli([]),
    ]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: webgpu-contrastive <command>/);
    expect(evalHelp.code).toBe(0);
    expect(evalHelp.stdout).toMatch(/--loss NAME .*--z1 A\.npy --z2 B\.npy --out DIR/);
    expect(evalHelp.stdout).toMatch(/--temperature T/);
    for (const flag of [/--negatives SET/, /--bank B\.npy/, /--grad-temperature/, /--diagnostics/, /with --bank over the N anchors/]) expect(evalHelp.stdout).toMatch(flag);
    expect(demoHelp.code).toBe(0);
    expect(demoHelp.stdout).toMatch(/^Usage: webgpu-contrastive demo/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'train'/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage:/);
  });
});

/** A .npy file (format 1.0 or 2.0) with the given header dict, padded to 64 bytes, and raw data. */
function npyWithHeader(dict: string, data: Uint8Array, major: 1 | 2 = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const unpadded = prefix + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const header = dict + ' '.repeat(total - unpadded) + '\n';
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  if (major === 1) new DataView(out.buffer).setUint16(8, header.length, true);
  else new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(data, total);
  return out;
}
