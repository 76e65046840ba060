#!/usr/bin/env node
// The `webgpu-contrastive` command. No build step: the TypeScript CLI (src/cli/main.ts) is
// bundled in memory with esbuild at startup and imported from a data: URL. Packages and the
// build config stay external, imported by absolute file URL from this package's node_modules.
import { build } from 'esbuild';
import { createRequire, isBuiltin } from 'node:module';
import { resolve } from 'node:path';
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

let main;
try {
  const result = await build({
    entryPoints: [resolve(packageRoot, 'src/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    sourcemap: 'inline',
    loader: { '.wgsl': 'text' },
    plugins: [externalsByUrl],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].text;
  ({ main } = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`));
} catch (e) {
  console.error(`webgpu-contrastive: error: could not load the CLI from ${packageRoot}src/cli: ${String(e?.message ?? e).split('\n')[0]}`);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2), { packageRoot });
