#!/usr/bin/env node
// `npm run demo:mnist [-- --steps N --seed N --temperature T --out DIR --serve]`.
// No build step: bundles run.ts (TypeScript) for Node with esbuild into node_modules/.cache
// (packages stay external and resolve from this package's node_modules), then runs it.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const demoDir = dirname(fileURLToPath(import.meta.url));
const root = join(demoDir, '..', '..');
const outfile = join(root, 'node_modules', '.cache', 'webgpu-contrastive', 'mnist-run.mjs');
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(demoDir, 'run.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const { main } = await import(pathToFileURL(outfile).href);
await main(demoDir, process.argv.slice(2));
