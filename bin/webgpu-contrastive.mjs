#!/usr/bin/env node
// The `webgpu-contrastive` command.
//   Installed package: imports the built CLI, dist/cli/main.js (no esbuild, no src/).
//   Development checkout (src/cli/main.ts and esbuild present): bundles the TypeScript CLI with
//   esbuild into .cache/cli/ (a file per process, removed once imported; inside the package so
//   runtime imports such as Dawn's `webgpu` resolve from node_modules), so edits need no build
//   step. Packages and the build config stay external, imported by absolute file URL.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

/** Resolve a bare package specifier the way `import` from this file would: to a file URL. */
function resolvePackage(specifier) {
  if (typeof import.meta.resolve === 'function') {
    try {
      return import.meta.resolve(specifier);
    } catch {
      // fall through to require's resolution (Node < 20.6 without the flag)
    }
  }
  return pathToFileURL(createRequire(import.meta.url).resolve(specifier)).href;
}

const externalsByUrl = {
  name: 'externals-by-url',
  setup(b) {
    // Bare imports (packages) and Node built-ins.
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      return { path: resolvePackage(args.path), external: true };
    });
    // esbuild.config.mjs: plain ESM that runs esbuild itself; import it where it lies.
    b.onResolve({ filter: /\.mjs$/ }, (args) => ({ path: pathToFileURL(resolve(args.resolveDir, args.path)).href, external: true }));
  },
};

// Stack traces (of bugs) point into src/ rather than into the bundle.
process.setSourceMapsEnabled?.(true);

const sourceEntry = resolve(packageRoot, 'src/cli/main.ts');
const builtEntry = resolve(packageRoot, 'dist/cli/main.js');

/** esbuild, when this is a development checkout that has it. */
async function devEsbuild() {
  if (!existsSync(sourceEntry)) return undefined;
  try {
    return await import('esbuild');
  } catch {
    return undefined;
  }
}

let main;
let built = false;
try {
  const esbuild = await devEsbuild();
  if (esbuild) {
    const outfile = resolve(packageRoot, '.cache', 'cli', `main-${process.pid}.mjs`);
    mkdirSync(dirname(outfile), { recursive: true });
    await esbuild.build({
      entryPoints: [sourceEntry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      sourcemap: 'inline',
      loader: { '.wgsl': 'text' },
      plugins: [externalsByUrl],
      logLevel: 'silent',
    });
    try {
      ({ main } = await import(pathToFileURL(outfile).href));
    } finally {
      rmSync(outfile, { force: true });
    }
  } else {
    built = true;
    ({ main } = await import(pathToFileURL(builtEntry).href));
  }
} catch (e) {
  const from = built ? builtEntry : `${packageRoot}src/cli`;
  console.error(`webgpu-contrastive: error: could not load the CLI from ${from}: ${String(e?.message ?? e).split('\n')[0]}`);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2), { packageRoot, built });
