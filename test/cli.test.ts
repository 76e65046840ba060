/**
 * The `webgpu-contrastive` CLI, run as a child process (`node bin/webgpu-contrastive.mjs ...`):
 * eval round trips through .npy files checked against the float64 reference, every input error
 * (refused before Chromium starts), and the .npy reader/writer on its own.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNpy2D, parseNpy2D, readNpy2D, writeNpy2D } from '../src/cli/npy.js';
import type { LossOptions } from '../src/options.js';
import { gaussian, mulberry32 } from '../src/random.js';
import { referenceLoss } from '../src/reference/index.js';
import { gradientError, lossError } from './support/tolerances.js';

const BIN = fileURLToPath(new URL('../bin/webgpu-contrastive.mjs', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI; never throws on a non-zero exit. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 240_000 },
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

  it('float32 and float64 inputs: loss and gradients match the float64 reference', async () => {
    // Two runs at once (each starts its own Chromium): float32 z1 + float64 z2, and the other way round.
    const runs: { name: string; args: string[]; options: LossOptions; dtypes: [string, string] }[] = [
      { name: 'a', args: ['--loss', 'ntxent', '--temperature', '0.3'], options: { loss: 'ntxent', temperature: 0.3 }, dtypes: ['float32', 'float64'] },
      {
        name: 'b',
        args: ['--loss', 'dclw', '--sigma', '0.7', '--weight-grad'],
        options: { loss: 'dclw', sigma: 0.7, weightGrad: true },
        dtypes: ['float64', 'float32'],
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
      });
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

  describe('refuses bad input before starting Chromium, with exit 2 and a one-line message', () => {
    // With CHROME_PATH pointing nowhere, a run that got as far as launching would exit 1 instead.
    const noChrome = { CHROME_PATH: join(tmpdir(), 'no-such-chromium') };
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
      ['temperature not a number', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--temperature', '0.1x'], /--temperature must be a finite number, got '0\.1x'/],
      ['infinite sigma', () => ['--loss', 'dclw', '--z1', good1, '--z2', good2, '--sigma', 'Infinity'], /--sigma must be a finite number/],
      ['unknown flag', () => ['--loss', 'dcl', '--z1', good1, '--z2', good2, '--tau', '1'], /Unknown option '--tau'/],
    ];
    it.each(cases)('%s', async (_label, args, message) => {
      const run = await cli(['eval', ...args(), '--out', join(dir, 'never')], noChrome);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^webgpu-contrastive eval: error: /);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(existsSync(join(dir, 'never', 'result.json'))).toBe(false);
    });

    it('missing --out', async () => {
      const run = await cli(['eval', '--loss', 'dcl', '--z1', good1, '--z2', good2], noChrome);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^webgpu-contrastive eval: error: missing --out DIR/);
    });

    it('--out that is a file', async () => {
      const run = await cli(['eval', '--loss', 'dcl', '--z1', good1, '--z2', good2, '--out', good1], noChrome);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--out .*good1\.npy exists and is not a directory/);
    });

    it('a missing Chromium is a runtime error (exit 1) once the inputs are fine', async () => {
      const run = await cli(['eval', '--loss', 'dcl', '--z1', good1, '--z2', good2, '--out', join(dir, 'no-chrome')], noChrome);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^webgpu-contrastive eval: error: CHROME_PATH=.*no-such-chromium does not exist\n$/);
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
