#!/usr/bin/env node
// `npm run bench`: bundle the TypeScript driver (bench/main.ts) for Node into .cache/bench/, with
// tfjs and the package inlined (only Dawn's `webgpu`, puppeteer-core and esbuild stay external,
// resolved from node_modules), then run it.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importNodeBundleAll } from '../esbuild.config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const { main } = await importNodeBundleAll(join(root, 'bench', 'main.ts'), join(root, '.cache', 'bench', 'main.mjs'));
process.exitCode = await main(process.argv.slice(2));
