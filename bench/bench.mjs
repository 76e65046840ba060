#!/usr/bin/env node
// `npm run bench`: bundle the TypeScript driver (bench/main.ts) for Node into .cache/bench/
// (inside the package, so node_modules resolves), then run it.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importNodeBundle } from '../esbuild.config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const { main } = await importNodeBundle(join(root, 'bench', 'main.ts'), join(root, '.cache', 'bench', 'main.mjs'));
process.exitCode = await main(process.argv.slice(2));
