/**
 * Entry of the travelling benchmark (`npm run bench:pack`): the same driver as `npm run bench`,
 * defaulting to `--runtime node`, relaunching itself with Chromium's SwiftShader selected on a
 * Linux machine without a GPU driver (src/runtime/node.ts). `--runtime chromium` is not
 * available here: it bundles a page with esbuild, which does not travel.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { relaunchWithSwiftShader } from '../src/runtime/node.js';
import { main } from './main.js';

// torch/bench_torch.py travels beside bench.mjs.
const here = dirname(fileURLToPath(import.meta.url));

const argv = process.argv.slice(2);
if (!argv.some((a) => a === '--runtime' || a.startsWith('--runtime='))) argv.unshift('--runtime', 'node');
const relaunched = argv.includes('--help') ? undefined : await relaunchWithSwiftShader();
process.exitCode = relaunched ?? (await main(argv, here));
