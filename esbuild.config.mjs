// Build configuration. `.wgsl` kernels are imported as text and inlined into every bundle.
//   node esbuild.config.mjs        → dist/ (the npm package's JavaScript; `npm run build`, prepack)
//   import { bundleForBrowser }     → one ESM bundle as a string (test pages, CLI, bench)
//   import { importNodeBundle }     → run a TypeScript Node entry without a build step (bench, demo)
import * as esbuild from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Options every bundle shares. */
export const shared = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  sourcemap: 'inline',
  logLevel: 'warning',
};

/** Bundle one browser entry point; returns the JavaScript text. */
export async function bundleForBrowser(entry, define = {}) {
  const result = await esbuild.build({ ...shared, entryPoints: [entry], platform: 'browser', write: false, define });
  return result.outputFiles[0].text;
}

/**
 * Bundle a Node entry point to `outfile` (packages stay external, so `outfile` must lie inside
 * this package for node_modules to resolve) and import it; resolves to the module.
 */
export async function importNodeBundle(entry, outfile) {
  await esbuild.build({ ...shared, entryPoints: [entry], outfile, platform: 'node', target: 'node20', packages: 'external' });
  return import(pathToFileURL(outfile).href);
}

/**
 * The library entry points, one per `exports` subpath (`.`, `./reference`, `./tfjs`; a new one is
 * one entry here and one in package.json's exports map).
 */
export const LIBRARY_ENTRIES = ['src/index.ts', 'src/reference/index.ts', 'src/tfjs/index.ts', 'src/jax/index.ts'];

/** Keeps `import('../../esbuild.config.mjs')` (dev-only bundling of a page entry) out of the built CLI. */
const devConfigExternal = {
  name: 'dev-config-external',
  setup(b) {
    b.onResolve({ filter: /esbuild\.config\.mjs$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** Never bundled into a Node bundle: Dawn's native addon, and the tools of the Chromium path and the build. */
export const NODE_EXTERNALS = ['webgpu', 'puppeteer-core', 'esbuild'];

/**
 * Bundle a Node entry point to `outfile` with its packages inlined (tfjs included) except
 * {@link NODE_EXTERNALS}, and import it; resolves to the module. What `npm run bench` runs, and
 * what `npm run bench:pack` ships to a GPU machine.
 */
export async function importNodeBundleAll(entry, outfile) {
  await bundleNodeAll(entry, outfile);
  return import(pathToFileURL(outfile).href);
}

/** Bundle `entry` for Node into `outfile` with every package but {@link NODE_EXTERNALS} inlined. */
export async function bundleNodeAll(entry, outfile, options = {}) {
  await esbuild.build({
    ...shared,
    entryPoints: [entry],
    outfile,
    platform: 'node',
    target: 'node20',
    external: NODE_EXTERNALS,
    // CommonJS packages (tfjs's dependencies) call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __wcCreateRequire } from 'node:module'; const require = __wcCreateRequire(import.meta.url);" },
    ...options,
  });
}

/**
 * Build the package's dist/:
 *   - the library (platform-neutral ESM, no runtime dependency: Dawn's `webgpu` is imported only
 *     in Node, by a specifier bundlers leave alone; tfjs stays the user's own, external);
 *   - the CLI, dist/cli/main.js (Node, npyjs bundled in; puppeteer-core and `webgpu` external and
 *     loaded only when used), and the page it opens for `--runtime chromium`,
 *     dist/chromium/cli-page.js (a browser bundle, so no esbuild is needed at run time).
 * Declarations come from `tsc -p tsconfig.build.json` (npm run build).
 */
export async function buildDist() {
  rmSync('dist', { recursive: true, force: true });
  await esbuild.build({
    ...shared,
    sourcemap: true,
    entryPoints: LIBRARY_ENTRIES,
    // Optional peer dependencies: the user's own tfjs / jax-js instance must be the one the adapters use.
    external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@jax-js/jax'],
    outdir: 'dist',
    outbase: 'src',
    platform: 'neutral',
    splitting: true,
  });
  await esbuild.build({
    ...shared,
    sourcemap: true,
    entryPoints: ['src/cli/main.ts'],
    outdir: 'dist/cli',
    platform: 'node',
    target: 'node20',
    splitting: true,
    external: ['puppeteer-core', 'webgpu'],
    plugins: [devConfigExternal],
  });
  await esbuild.build({ ...shared, sourcemap: false, entryPoints: ['src/chromium/cli-page.ts'], outfile: 'dist/chromium/cli-page.js', platform: 'browser' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildDist();
