#!/usr/bin/env node
// `npm run bench:jax`: bundle bench/jax.ts for Node into .cache/bench/ and run it. With
// `--runtime node` (Dawn), re-run this script once with SwiftShader's Vulkan paths set: the
// Vulkan loader reads them at process start.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importNodeBundle } from '../esbuild.config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const args = process.argv.slice(2);
const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (args.includes('node') && !process.env.VK_ICD_FILENAMES && existsSync(icd)) {
  const env = { ...process.env, VK_ICD_FILENAMES: icd, LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH ?? '/usr/lib/chromium' };
  process.exit(spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit', env }).status ?? 1);
}
const { main } = await importNodeBundle(join(root, 'bench', 'jax.ts'), join(root, '.cache', 'bench', 'jax.mjs'));
process.exitCode = await main(args);
