// Build configuration. `.wgsl` kernels are imported as text and inlined into every bundle.
//   node esbuild.config.mjs        → dist/ (the npm package's JavaScript)
//   import { bundleForBrowser }     → one ESM bundle as a string (test pages, CLI, bench)
//   import { importNodeBundle }     → run a TypeScript Node entry without a build step (bench, demo)
import * as esbuild from 'esbuild';
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

/** Build the package's dist/: browser-safe library entry points, and the Node CLI. */
export async function buildDist() {
  await esbuild.build({
    ...shared,
    sourcemap: true,
    entryPoints: ['src/index.ts', 'src/reference/index.ts', 'src/tfjs/index.ts', 'src/jax/index.ts'],
    // Optional peer dependencies: the user's own tfjs / jax-js instance must be the one the adapters use.
    external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@jax-js/jax'],
    outdir: 'dist',
    outbase: 'src',
    platform: 'neutral',
    splitting: true,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildDist();
