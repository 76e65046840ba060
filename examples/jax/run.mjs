#!/usr/bin/env node
// `npm run demo:jax [-- --steps N --batch N --seed N --temperature T --lr R --serve]`: bundles
// run.ts for Node into .cache/ (packages stay external), then runs it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importNodeBundle } from '../../esbuild.config.mjs';

const demoDir = dirname(fileURLToPath(import.meta.url));
const root = join(demoDir, '..', '..');
const { main } = await importNodeBundle(join(demoDir, 'run.ts'), join(root, '.cache', 'examples', 'jax-run.mjs'));
await main(demoDir, process.argv.slice(2));
