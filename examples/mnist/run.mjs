#!/usr/bin/env node
// `npm run demo:mnist [-- --steps N --seed N --temperature T --out DIR --serve]`.
// No build step: bundles run.ts (TypeScript) for Node into node_modules/.cache (packages stay
// external and resolve from this package's node_modules), then runs it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importNodeBundle } from '../../esbuild.config.mjs';

const demoDir = dirname(fileURLToPath(import.meta.url));
const root = join(demoDir, '..', '..');
const { main } = await importNodeBundle(join(demoDir, 'run.ts'), join(root, 'node_modules', '.cache', 'webgpu-contrastive', 'mnist-run.mjs'));
await main(demoDir, process.argv.slice(2));
