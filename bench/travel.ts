/**
 * Entry of the travelling benchmark (`npm run bench:pack`): the same driver as `npm run bench`,
 * defaulting to `--runtime node`, relaunching itself with Chromium's SwiftShader selected on a
 * Linux machine without a GPU driver (src/runtime/node.ts).
 */
import { relaunchWithSwiftShader } from '../src/runtime/node.js';
import { main } from './main.js';

const argv = process.argv.slice(2);
if (!argv.some((a) => a === '--runtime' || a.startsWith('--runtime='))) argv.unshift('--runtime', 'node');
const relaunched = argv.includes('--help') ? undefined : await relaunchWithSwiftShader();
process.exitCode = relaunched ?? (await main(argv));
