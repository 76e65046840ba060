/**
 * The README's "TensorFlow.js in Node" recipe (examples/tfjs-node/) run as a user runs it: the
 * library built as the package builds it, installed under `.cache/tfjs-node-recipe/node_modules`,
 * and `node train.mjs` in a plain Node process on Dawn (SwiftShader without a GPU). The README
 * must hold both files verbatim; the loss and ∂L/∂w it prints must match the float64 reference.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM config module without types
import { shared, LIBRARY_ENTRIES } from '../esbuild.config.mjs';
import { referenceLoss } from '../src/reference/index.js';
import { gradientError, lossError } from './support/tolerances.js';

const FILES = ['tfjs-resolve.mjs', 'train.mjs'];
const DIR = '.cache/tfjs-node-recipe';

describe('Node + tfjs recipe (README)', () => {
  it('README holds examples/tfjs-node/ verbatim', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const f of FILES) {
      const text = readFileSync(`examples/tfjs-node/${f}`, 'utf8');
      expect(readme.includes('```js\n' + text + '```\n'), `README.md must include examples/tfjs-node/${f} verbatim in a js block`).toBe(true);
    }
  });

  it('node train.mjs trains through the op on Dawn: loss and ∂L/∂w = float64 reference', async () => {
    const t0 = Date.now();
    rmSync(DIR, { recursive: true, force: true });
    const pkg = `${DIR}/node_modules/webgpu-contrastive`;
    mkdirSync(pkg, { recursive: true });
    await esbuild.build({
      ...(shared as object),
      entryPoints: LIBRARY_ENTRIES,
      external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@jax-js/jax'],
      outdir: `${pkg}/dist`,
      outbase: 'src',
      platform: 'neutral',
      splitting: true,
    });
    copyFileSync('package.json', `${pkg}/package.json`);
    // Its own package.json, so `webgpu-contrastive` resolves to node_modules, not to this checkout.
    writeFileSync(`${DIR}/package.json`, JSON.stringify({ name: 'recipe', private: true, type: 'module' }));
    for (const f of FILES) copyFileSync(`examples/tfjs-node/${f}`, `${DIR}/${f}`);
    const built = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['train.mjs'], { cwd: DIR, env: process.env, timeout: 240_000 });
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    expect(line, `no JSON line in the recipe's output:\n${stdout}`).toBeDefined();
    const got = JSON.parse(line!) as { backend: string; loss: number; gradW: number[] };
    expect(got.backend).toBe('webgpu');

    // The same inputs in float64 (the recipe's f32 values), the reference's ∂L/∂z pulled back to w.
    const [n, k, d] = [32, 24, 16];
    const x1 = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i));
    const x2 = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i + 0.3));
    const w = Float32Array.from({ length: k * d }, (_, i) => Math.cos(i) / 4);
    const matmul = (x: Float32Array) => {
      const z = new Float64Array(n * d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += x[i * k + t] * w[t * d + j];
        z[i * d + j] = s;
      }
      return z;
    };
    const ref = referenceLoss(matmul(x1), matmul(x2), n, d, { loss: 'dcl', temperature: 0.1 });
    const gradW = new Float64Array(k * d);
    for (const [x, g] of [[x1, ref.gradZ1], [x2, ref.gradZ2]] as const)
      for (let i = 0; i < n; i++) for (let t = 0; t < k; t++) for (let j = 0; j < d; j++) gradW[t * d + j] += x[i * k + t] * g[i * d + j];
    const le = lossError(got.loss, ref.loss, ref.perAnchor);
    const ge = gradientError(Float32Array.from(got.gradW), gradW, d);
    console.log(`[tfjs-node-recipe] loss ${got.loss} vs ${ref.loss} (${le.describe}); ∂L/∂w ${ge.describe}; build ${built - t0} ms, node train.mjs ${Date.now() - built} ms`);
    expect(le.ok, le.describe).toBe(true);
    expect(ge.ok, ge.describe).toBe(true);
  });
});
