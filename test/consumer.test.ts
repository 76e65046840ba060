/**
 * The package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into a
 * fresh temporary project (`npm install --prefer-offline`, reusing the npm cache), then
 *   - plain Node: `import('webgpu-contrastive')` on Dawn computes DCL loss and gradients equal to
 *     the float64 reference (the installed `webgpu-contrastive/reference` and this checkout's);
 *   - a page importing `webgpu-contrastive`, bundled with esbuild from the temp project's
 *     node_modules, run in the run's headless Chromium: the same;
 *   - the installed bin (`eval`) on Dawn, from dist/ (no esbuild, no Chromium);
 *   - the installed tree has no esbuild, puppeteer-core or npyjs.
 * Inputs are fresh random (seed printed; CONSUMER_SEED reproduces).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { referenceLoss } from '../src/reference/index.js';
import { modulePage, serveFiles } from '../src/chromium/static-server.js';
import { readNpy2D, writeNpy2D } from '../src/cli/npy.js';
import { makeRng } from './reference/helpers.js';
import { gradientError, lossError } from './support/tolerances.js';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const seed = process.env.CONSUMER_SEED ? Number(process.env.CONSUMER_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[consumer] random seed ${seed} (reproduce with CONSUMER_SEED=${seed})`);
const rng = makeRng(seed);
const n = 19;
const d = 13;
const z1 = Float32Array.from({ length: n * d }, () => rng.gaussian());
const z2 = Float32Array.from({ length: n * d }, () => rng.gaussian());
const options = { loss: 'dcl' as const, temperature: 0.2 };
const ref = referenceLoss(z1, z2, n, d, options);

/** What both consumers print: the GPU's loss and gradients, and the installed reference's loss. */
interface ConsumerOutput {
  loss: number;
  gradZ1: number[];
  gradZ2: number[];
  installedReferenceLoss: number;
}

/** The consumer's code: the same text for Node and for the page (only `navigator.gpu`/Dawn differ). */
const consumerBody = `
import { ContrastiveLoss } from 'webgpu-contrastive';
import { referenceLoss } from 'webgpu-contrastive/reference';
export async function runConsumer(z1, z2, n, d, options) {
  const cl = await ContrastiveLoss.create();
  try {
    const r = await cl.compute(Float32Array.from(z1), Float32Array.from(z2), n, d, options);
    const installed = referenceLoss(Float32Array.from(z1), Float32Array.from(z2), n, d, options);
    return { loss: r.loss, gradZ1: Array.from(r.gradZ1), gradZ2: Array.from(r.gradZ2), installedReferenceLoss: installed.loss };
  } finally {
    cl.destroy();
  }
}
`;

function expectMatchesReference(out: ConsumerOutput, where: string): void {
  const le = lossError(out.loss, ref.loss);
  expect(le.ok, `${where}: loss ${out.loss} vs reference ${ref.loss} (${le.describe})`).toBe(true);
  expect(Math.abs(out.installedReferenceLoss - ref.loss), `${where}: installed reference`).toBeLessThanOrEqual(1e-12 * Math.abs(ref.loss));
  for (const [name, got, want, un] of [
    ['gradZ1', out.gradZ1, ref.gradZ1, ref.unprojectedNorm.z1],
    ['gradZ2', out.gradZ2, ref.gradZ2, ref.unprojectedNorm.z2],
  ] as const) {
    const ge = gradientError(Float32Array.from(got), want, d, un);
    expect(ge.ok, `${where}: ${name} ${ge.describe}`).toBe(true);
  }
}

let work: string;
let project: string;
let tarball: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'webgpu-contrastive-consumer-'));
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, maxBuffer: 64 << 20 });
  tarball = join(work, packed.stdout.trim().split('\n').pop()!);
  project = join(work, 'app');
  await run('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], { cwd: project, maxBuffer: 64 << 20 });
  writeFileSync(join(project, 'consumer.mjs'), consumerBody);
}, 600_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package, installed into a fresh project', () => {
  it('ships dist/ with JS and .d.ts for every export, and pulls no esbuild, puppeteer-core or npyjs', () => {
    const pkgDir = join(project, 'node_modules', 'webgpu-contrastive');
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    for (const [subpath, entry] of Object.entries(pkg.exports as Record<string, { types: string; import: string }>)) {
      expect(existsSync(join(pkgDir, entry.import)), `${subpath} → ${entry.import}`).toBe(true);
      expect(existsSync(join(pkgDir, entry.types)), `${subpath} → ${entry.types}`).toBe(true);
    }
    expect(existsSync(join(pkgDir, 'src'))).toBe(false);
    const installed = readdirSync(join(project, 'node_modules'));
    for (const unwanted of ['esbuild', 'puppeteer-core', 'npyjs', '@esbuild']) expect(installed, unwanted).not.toContain(unwanted);
    expect(installed).toContain('webgpu'); // the optional dependency, for Node
  });

  it('plain Node: import("webgpu-contrastive") on Dawn equals the reference', async () => {
    const script = `import { runConsumer } from './consumer.mjs';
const [z1, z2, n, d, options] = JSON.parse(process.argv[2]);
process.stdout.write(JSON.stringify(await runConsumer(z1, z2, n, d, options)));`;
    writeFileSync(join(project, 'node-consumer.mjs'), script);
    const { stdout } = await run(process.execPath, ['node-consumer.mjs', JSON.stringify([Array.from(z1), Array.from(z2), n, d, options])], {
      cwd: project,
      maxBuffer: 64 << 20,
    });
    expectMatchesReference(JSON.parse(stdout) as ConsumerOutput, 'Node');
  });

  it('a page bundled with esbuild from the installed package, in headless Chromium, equals the reference', async () => {
    const entry = join(project, 'page.mjs');
    writeFileSync(entry, `import { runConsumer } from './consumer.mjs';\nwindow.runConsumer = runConsumer;\nwindow.__ready = true;\n`);
    const bundle = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', write: false, absWorkingDir: project, logLevel: 'error' });
    const files = new Map([
      ['/index.html', { body: modulePage('/entry.js'), type: 'text/html' }],
      ['/entry.js', { body: bundle.outputFiles[0]!.text, type: 'text/javascript' }],
    ]);
    const server = await serveFiles(files);
    const browser = await puppeteer.connect({ browserWSEndpoint: inject('browserWSEndpoint'), protocolTimeout: 30 * 60_000 });
    const page = await browser.newPage();
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true, { timeout: 60_000 });
      const out = (await page.evaluate(
        (args) => (window as unknown as { runConsumer: (...a: unknown[]) => Promise<unknown> }).runConsumer(...args),
        [Array.from(z1), Array.from(z2), n, d, options] as unknown[],
      )) as ConsumerOutput;
      expectMatchesReference(out, 'Chromium page');
    } finally {
      await page.close();
      await browser.disconnect();
      await server.close();
    }
  });

  it('the installed bin runs eval on Dawn from dist/ and names runtime and adapter', async () => {
    writeNpy2D(join(project, 'a.npy'), z1, n, d);
    writeNpy2D(join(project, 'b.npy'), z2, n, d);
    const bin = join(project, 'node_modules', '.bin', 'webgpu-contrastive');
    await run(bin, ['eval', '--loss', 'dcl', '--temperature', '0.2', '--z1', 'a.npy', '--z2', 'b.npy', '--out', 'out'], { cwd: project, maxBuffer: 16 << 20 });
    const json = JSON.parse(readFileSync(join(project, 'out', 'result.json'), 'utf8'));
    expect(json.runtime).toBe('node');
    expect(typeof json.adapter.description).toBe('string');
    expectMatchesReference(
      {
        loss: json.loss,
        gradZ1: Array.from(readNpy2D(join(project, 'out', 'grad_z1.npy')).data),
        gradZ2: Array.from(readNpy2D(join(project, 'out', 'grad_z2.npy')).data),
        installedReferenceLoss: ref.loss,
      },
      'installed CLI',
    );
  });
});
