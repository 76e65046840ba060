/**
 * The package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into a
 * fresh temporary project (`npm install --prefer-offline`, reusing the npm cache), then
 *   - plain Node: `import('webgpu-contrastive')` on Dawn computes DCL loss and gradients equal to
 *     the float64 reference (the installed `webgpu-contrastive/reference` and this checkout's);
 *   - a page importing `webgpu-contrastive`, bundled with esbuild from the temp project's
 *     node_modules, run in the run's headless Chromium: the same;
 *   - the installed bin (`eval`) on Dawn, from dist/ (no esbuild, no Chromium);
 *   - the installed tree has no esbuild, puppeteer-core or npyjs.
 * `@jax-js/jax` (the optional peer, packed from this checkout's node_modules, so no network) is
 * installed beside it in the same `npm install`, and `webgpu-contrastive/jax` is checked the same
 * two ways (plain Node on Dawn, an esbuild page in Chromium with one copy of jax-js): one DCL step
 * of a two-parameter encoder, loss = `jaxOpsLoss` = the float64 reference, gradients shaped like
 * the parameters and equal to jax-js's own `valueAndGrad` of `jaxOpsLoss`; `tsc` resolves its
 * types. A copy of the installed package without `@jax-js/jax` beside it still imports, and its
 * `./jax` fails naming `@jax-js/jax`. A strict TypeScript consumer (`skipLibCheck` off, no
 * `@webgpu/types` of its own) compiles against `.` and `./reference`, and `encode`'s gradients
 * and `readOutputs`' arrays are typed by `backward` (issue 19).
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
import { launchChrome } from '../src/chromium/chrome.js';
import { modulePage, serveFiles } from '../src/chromium/static-server.js';
import { relativeL2 } from '../src/cli/demo.js';
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

/** The jax-js consumer's encoder sizes: z = tanh(x·W1)·W2, two parameter arrays. */
const jaxShape = { n: 12, din: 6, hidden: 8, d: 5 };
const jaxInputs = (() => {
  const s = jaxShape;
  const gauss = (k: number, scale: number) => Array.from({ length: k }, () => scale * rng.gaussian());
  const base = gauss(s.n * s.din, 1);
  return {
    x1: base.map((v) => v + 0.3 * rng.gaussian()),
    x2: base.map((v) => v + 0.3 * rng.gaussian()),
    w1: gauss(s.din * s.hidden, 1 / Math.sqrt(s.din)),
    w2: gauss(s.hidden * s.d, 1 / Math.sqrt(s.hidden)),
  };
})();
const jaxOptions = { loss: 'dcl' as const, temperature: 0.2 };

/** What the jax-js consumer returns: the step's outputs, the views, and jax-js's own baseline. */
interface JaxConsumerOutput {
  devices: string[];
  loss: number;
  opsLoss: number;
  z1: number[];
  z2: number[];
  grads: Record<'W1' | 'W2', { shape: number[]; data: number[] }>;
  baselineGrads: Record<'W1' | 'W2', number[]>;
  paramShapes: Record<'W1' | 'W2', number[]>;
}

/**
 * The jax-js consumer's code, the same text for Node and for the page. It imports nothing at
 * module level, so Node can install \`navigator.gpu\` before jax-js loads.
 */
const jaxConsumerBody = `
export async function runJaxConsumer(inputs, s, options) {
  const { init, defaultDevice, numpy: np, tree, valueAndGrad } = await import('@jax-js/jax');
  const { contrastiveValueAndGrad, jaxOpsLoss } = await import('webgpu-contrastive/jax');
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('jax-js started no webgpu backend (got ' + devices.join(', ') + ')');
  defaultDevice('webgpu');
  const params = {
    W1: np.array(Float32Array.from(inputs.w1)).reshape([s.din, s.hidden]),
    W2: np.array(Float32Array.from(inputs.w2)).reshape([s.hidden, s.d]),
  };
  const X1 = np.array(Float32Array.from(inputs.x1)).reshape([s.n, s.din]);
  const X2 = np.array(Float32Array.from(inputs.x2)).reshape([s.n, s.din]);
  const mlp = (p, x) => np.matmul(np.tanh(np.matmul(x, p.W1)), p.W2);
  const encode = (p, a, b) => [mlp(tree.ref(p), a), mlp(p, b)];
  const read = async (g) => ({ shape: g.shape, data: Array.from(await g.data()) });

  const step = contrastiveValueAndGrad(encode, options);
  const [loss, grads] = await step(tree.ref(params), X1.ref, X2.ref);
  const out = { devices, loss: (await loss.data())[0], grads: { W1: await read(grads.W1), W2: await read(grads.W2) } };

  const [z1, z2] = encode(tree.ref(params), X1.ref, X2.ref);
  out.z1 = Array.from(await z1.ref.data());
  out.z2 = Array.from(await z2.ref.data());
  out.opsLoss = (await jaxOpsLoss(z1, z2, options).data())[0];

  const [, bGrads] = valueAndGrad((p) => {
    const [a, b] = encode(p, X1.ref, X2.ref);
    return jaxOpsLoss(a, b, options);
  })(tree.ref(params));
  out.baselineGrads = { W1: Array.from(await bGrads.W1.data()), W2: Array.from(await bGrads.W2.data()) };
  out.paramShapes = { W1: params.W1.shape, W2: params.W2.shape };
  tree.dispose(params);
  X1.dispose();
  X2.dispose();
  return out;
}
`;

function expectJaxMatches(out: JaxConsumerOutput, where: string): void {
  const s = jaxShape;
  expect(out.devices, `${where}: jax-js devices`).toContain('webgpu');
  const ref = referenceLoss(Float32Array.from(out.z1), Float32Array.from(out.z2), s.n, s.d, jaxOptions);
  expect(Number.isFinite(out.loss), `${where}: step loss ${out.loss}`).toBe(true);
  for (const [name, got] of [['step', out.loss], ['jaxOpsLoss', out.opsLoss]] as const) {
    const le = lossError(got, ref.loss);
    expect(le.ok, `${where}: ${name} loss ${got} vs reference ${ref.loss} (${le.describe})`).toBe(true);
    jaxWorst.loss = Math.max(jaxWorst.loss, Math.abs(got - ref.loss) / Math.abs(ref.loss));
  }
  const le = lossError(out.loss, out.opsLoss);
  expect(le.ok, `${where}: step loss ${out.loss} vs jaxOpsLoss ${out.opsLoss} (${le.describe})`).toBe(true);
  expect(out.paramShapes).toEqual({ W1: [s.din, s.hidden], W2: [s.hidden, s.d] });
  for (const k of ['W1', 'W2'] as const) {
    expect(out.grads[k].shape, `${where}: ∂L/∂${k} shape`).toEqual(out.paramShapes[k]);
    const got = Float32Array.from(out.grads[k].data);
    expect(got.every(Number.isFinite), `${where}: ∂L/∂${k} finite`).toBe(true);
    // d = 2: the D = 1 special case of gradientError does not apply to parameter gradients.
    const ge = gradientError(got, out.baselineGrads[k], 2);
    expect(ge.ok, `${where}: ∂L/∂${k} vs jax-js valueAndGrad(jaxOpsLoss) ${ge.describe}`).toBe(true);
    jaxWorst.grad = Math.max(jaxWorst.grad, relativeL2(got, out.baselineGrads[k]));
  }
}

/** Worst relative errors of the jax-js consumers (printed at the end, for the record). */
const jaxWorst = { loss: 0, grad: 0 };

/**
 * Bundle `entry` (in the temp project) for the browser and open it in Chromium: the run's shared
 * one, or with `ownBrowser` a fresh one of the same flags (the jax-js page stalled, idle, as a
 * second page of the shared browser; alone in its own browser it runs in seconds). `use` gets the page.
 */
async function withBundledPage<T>(
  entry: string,
  use: (page: import('puppeteer-core').Page, bundle: esbuild.BuildResult<{ write: false; metafile: true }>) => Promise<T>,
  ownBrowser = false,
): Promise<T> {
  const bundle = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, absWorkingDir: project, logLevel: 'error' });
  const files = new Map([
    ['/index.html', { body: modulePage('/entry.js'), type: 'text/html' }],
    ['/entry.js', { body: bundle.outputFiles[0]!.text, type: 'text/javascript' }],
  ]);
  const server = await serveFiles(files);
  const browser = ownBrowser
    ? await launchChrome()
    : await puppeteer.connect({ browserWSEndpoint: inject('browserWSEndpoint'), protocolTimeout: 30 * 60_000 });
  try {
    const page = await browser.newPage();
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true, { timeout: 60_000 });
      return await use(page, bundle);
    } finally {
      await page.close();
    }
  } finally {
    await (ownBrowser ? browser.close() : browser.disconnect());
    await server.close();
  }
}

/**
 * Run tsc in the consumer project on `files` (strict, nodenext, DOM lib, no automatic @types);
 * resolves to its exit code, output and `error TS` lines.
 */
async function consumerTsc(config: string, files: string[], skipLibCheck: boolean): Promise<{ code: number; out: string; errorLines: string[] }> {
  writeFileSync(
    join(project, config),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [], skipLibCheck },
      files,
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', config], { cwd: project, maxBuffer: 16 << 20 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
  return { ...result, errorLines: result.out.split('\n').filter((l) => /error TS\d+/.test(l)) };
}

let work: string;
let project: string;
let noJaxProject: string;
let tarball: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'webgpu-contrastive-consumer-'));
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, maxBuffer: 64 << 20 });
  tarball = join(work, packed.stdout.trim().split('\n').pop()!);
  // The optional peer @jax-js/jax, packed from this checkout's node_modules (offline, the version we test against).
  const jaxDir = join(root, 'node_modules', '@jax-js', 'jax');
  const jaxPacked = await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work, jaxDir], { cwd: work, maxBuffer: 16 << 20 });
  const jaxTarball = join(work, jaxPacked.stdout.trim().split('\n').pop()!);
  project = join(work, 'app');
  await run('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, jaxTarball], { cwd: project, maxBuffer: 64 << 20 });
  writeFileSync(join(project, 'consumer.mjs'), consumerBody);
  writeFileSync(join(project, 'jax-consumer.mjs'), jaxConsumerBody);
  // A project with the installed package and nothing else (no @jax-js/jax): a copy, not a link,
  // so Node resolves the package's own imports from here and cannot find the other project's jax-js.
  noJaxProject = join(work, 'app-without-jax');
  await run('mkdir', ['-p', join(noJaxProject, 'node_modules')]);
  writeFileSync(join(noJaxProject, 'package.json'), JSON.stringify({ name: 'consumer-without-jax', private: true, type: 'module' }));
  await run('cp', ['-r', join(project, 'node_modules', 'webgpu-contrastive'), join(noJaxProject, 'node_modules')]);
}, 600_000);
afterAll(() => {
  const e = (v: number) => v.toExponential(2);
  console.log(`[consumer] jax: worst relative error of loss vs the float64 reference ${e(jaxWorst.loss)}, of parameter grads vs valueAndGrad(jaxOpsLoss) (L2) ${e(jaxWorst.grad)}`);
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
    const out = await withBundledPage(entry, (page) =>
      page.evaluate(
        (args) => (window as unknown as { runConsumer: (...a: unknown[]) => Promise<unknown> }).runConsumer(...args),
        [Array.from(z1), Array.from(z2), n, d, options] as unknown[],
      ),
    );
    expectMatchesReference(out as ConsumerOutput, 'Chromium page');
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

  it('plain Node on Dawn: webgpu-contrastive/jax, one DCL step = jaxOpsLoss = reference', async () => {
    const script = `import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
globalThis.navigator = { gpu: create([]), userAgent: 'node' };
const { runJaxConsumer } = await import('./jax-consumer.mjs');
const [inputs, s, options] = JSON.parse(process.argv[2]);
// Exit once written: Dawn's instance would keep the process alive.
process.stdout.write(JSON.stringify(await runJaxConsumer(inputs, s, options)), () => process.exit(0));`;
    writeFileSync(join(project, 'node-jax-consumer.mjs'), script);
    const { stdout } = await run(process.execPath, ['node-jax-consumer.mjs', JSON.stringify([jaxInputs, jaxShape, jaxOptions])], {
      cwd: project,
      maxBuffer: 64 << 20,
    });
    expectJaxMatches(JSON.parse(stdout) as JaxConsumerOutput, 'Node jax');
  });

  it('a page bundling webgpu-contrastive/jax with the project\'s own @jax-js/jax (one copy), in Chromium: the same', async () => {
    const entry = join(project, 'jax-page.mjs');
    writeFileSync(entry, `import { runJaxConsumer } from './jax-consumer.mjs';\nwindow.runJaxConsumer = runJaxConsumer;\nwindow.__ready = true;\n`);
    const out = await withBundledPage(entry, async (page, bundle) => {
      // Every jax-js module in the bundle comes from the consumer's node_modules/@jax-js/jax.
      const jaxInputsBundled = Object.keys(bundle.metafile.inputs).filter((f) => f.includes('@jax-js'));
      expect(jaxInputsBundled.length, 'jax-js bundled in').toBeGreaterThan(0);
      for (const f of jaxInputsBundled) expect(f, 'one copy of jax-js, the project\'s own').toMatch(/^node_modules\/@jax-js\/jax\//);
      return page.evaluate(
        (args) => (window as unknown as { runJaxConsumer: (...a: unknown[]) => Promise<unknown> }).runJaxConsumer(...args),
        [jaxInputs, jaxShape, jaxOptions] as unknown[],
      );
    }, true);
    expectJaxMatches(out as JaxConsumerOutput, 'Chromium jax page');
  });

  it('installed without @jax-js/jax: the main entry imports, ./jax fails naming @jax-js/jax', async () => {
    const script = `const main = await import('webgpu-contrastive');
const reference = await import('webgpu-contrastive/reference');
let jaxError = '';
try { await import('webgpu-contrastive/jax'); } catch (e) { jaxError = String(e && e.message); }
process.stdout.write(JSON.stringify({ main: typeof main.ContrastiveLoss, reference: typeof reference.referenceLoss, jaxError }));`;
    writeFileSync(join(noJaxProject, 'probe.mjs'), script);
    const { stdout } = await run(process.execPath, ['probe.mjs'], { cwd: noJaxProject, maxBuffer: 16 << 20 });
    const out = JSON.parse(stdout) as { main: string; reference: string; jaxError: string };
    expect(existsSync(join(noJaxProject, 'node_modules', '@jax-js'))).toBe(false);
    expect(out.main).toBe('function');
    expect(out.reference).toBe('function');
    expect(out.jaxError).toMatch(/@jax-js\/jax/);
  });

  it('tsc in the consumer project resolves webgpu-contrastive/jax to its declarations', async () => {
    writeFileSync(
      join(project, 'types-ok.ts'),
      `import { numpy as np, type Array as JaxArray } from '@jax-js/jax';
import { contrastiveValueAndGrad, jaxOpsLoss, type ContrastiveStep } from 'webgpu-contrastive/jax';
type Params = { W: JaxArray };
const step: ContrastiveStep<Params, [JaxArray, JaxArray]> = contrastiveValueAndGrad(
  (p: Params, a: JaxArray, b: JaxArray): [JaxArray, JaxArray] => [np.matmul(a, p.W.ref), np.matmul(b, p.W)],
  { loss: 'dcl', temperature: 0.2 },
);
export async function use(p: Params, a: JaxArray, b: JaxArray): Promise<number[]> {
  const [loss, grads] = await step(p, a.ref, b.ref);
  const baseline: JaxArray = jaxOpsLoss(a, b, { loss: 'ntxent' });
  return [loss.ndim, grads.W.ndim, baseline.ndim];
}
`,
    );
    // Wrong uses must fail to compile: proof that the declarations were found (an untyped module would be \`any\`).
    writeFileSync(
      join(project, 'types-bad.ts'),
      `import { contrastiveValueAndGrad } from 'webgpu-contrastive/jax';
export const badLoss = contrastiveValueAndGrad((p: unknown) => [p, p] as never, { loss: 'nope' });
export const notAFunction: number = contrastiveValueAndGrad;
`,
    );
    const { errorLines, ...result } = await consumerTsc('tsconfig.json', ['types-ok.ts', 'types-bad.ts'], true);
    expect(errorLines.filter((l) => !l.startsWith('types-bad.ts')), `errors outside types-bad.ts:\n${result.out}`).toEqual([]);
    expect(errorLines.some((l) => l.includes('"nope"')), result.out).toBe(true);
    expect(errorLines.some((l) => l.startsWith('types-bad.ts(3,')), result.out).toBe(true);
    expect(result.code).not.toBe(0);
  });

  it('a strict TypeScript consumer compiles with nothing added: no @webgpu/types of its own, skipLibCheck off (issue 19)', async () => {
    const own = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    expect(own.dependencies?.['@webgpu/types'] ?? own.devDependencies?.['@webgpu/types']).toBeUndefined();
    expect(existsSync(join(project, 'node_modules', '@webgpu', 'types', 'package.json')), '@webgpu/types installed as the package\'s dependency').toBe(true);
    writeFileSync(
      join(project, 'strict-ok.ts'),
      `import { ContrastiveLoss, readOutputs, type CreateProgress } from 'webgpu-contrastive';
import { referenceLoss } from 'webgpu-contrastive/reference';
export async function use(z1: GPUBuffer, z2: GPUBuffer, a: Float32Array, b: Float32Array): Promise<number> {
  const cl = await ContrastiveLoss.create({ onProgress: (e: CreateProgress) => console.log(e.stage, e.done, e.total) });
  const encoder = cl.device.createCommandEncoder();
  const out = cl.encode(encoder, { z1, z2, n: 4, d: 8, options: { loss: 'dcl' } });
  cl.device.queue.submit([encoder.finish()]);
  const read = await readOutputs(cl.device, out);
  out.gradZ1.destroy();
  out.gradZ2.destroy();
  const grad: Float32Array = read.gradZ1;
  const full = await cl.compute(a, b, 4, 8, { loss: 'dcl' });
  const forward = await cl.compute(a, b, 4, 8, { loss: 'dcl' }, { backward: false });
  return grad[0]! + full.gradZ1[0]! + forward.loss + referenceLoss(a, b, 4, 8, { loss: 'dcl' }).loss;
}
`,
    );
    // Misuses that must not compile: proof that the declarations, and GPUBuffer in them, were read.
    writeFileSync(
      join(project, 'strict-bad.ts'),
      `import { ContrastiveLoss, readOutputs } from 'webgpu-contrastive';
export async function misuse(cl: ContrastiveLoss, z1: GPUBuffer, z2: GPUBuffer): Promise<void> {
  const forward = cl.encode(cl.device.createCommandEncoder(), { z1, z2, n: 4, d: 8, options: { loss: 'dcl' }, backward: false });
  forward.gradZ1.destroy();
  const read: Float32Array = (await readOutputs(cl.device, forward)).gradTemperature;
  const notABuffer: number = forward.loss;
}
`,
    );
    const { errorLines, ...result } = await consumerTsc('tsconfig.strict.json', ['strict-ok.ts', 'strict-bad.ts'], false);
    expect(errorLines.filter((l) => !l.startsWith('strict-bad.ts')), `errors outside strict-bad.ts:\n${result.out}`).toEqual([]);
    expect(errorLines.map((l) => l.replace(/:.*/, '')), result.out).toEqual(['strict-bad.ts(4,3)', 'strict-bad.ts(5,9)', 'strict-bad.ts(6,9)']);
    expect(result.code).not.toBe(0);
  });
});
