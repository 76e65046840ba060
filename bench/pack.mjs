#!/usr/bin/env node
// `npm run bench:pack`: the directory that travels to a GPU machine to run the Node benchmark,
// and its .tar.xz. It holds only
//   bench.mjs                the driver with the package (src/, as dist/ is built from) and tfjs inlined
//   node_modules/webgpu/     Dawn for linux-x64 only (the other platforms' binaries trimmed)
//   torch/                   bench_torch.py and losses.py, the PyTorch side (run when python3 has torch)
//   package.json, README.txt
// At load, bench.mjs imports only Node built-ins and `webgpu` (test/bench-travel.test.ts checks).
// Run it there with `node bench.mjs [--quick]` (Node ≥ 20; --runtime node is the default).
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleNodeAll } from '../esbuild.config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const platform = process.env.BENCH_PACK_PLATFORM ?? 'linux-x64';
const name = `webgpu-contrastive-bench-${platform}`;
// BENCH_PACK_OUT: where to build (test/bench-travel.test.ts packs into a temporary folder);
// --no-archive: the directory only, no .tar.xz (xz takes most of a pack's time).
const outDir = process.env.BENCH_PACK_OUT ?? join(root, '.cache', 'bench-pack');
const archiveToo = !process.argv.includes('--no-archive');
const dir = join(outDir, name);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

/**
 * The Chromium runtime's page bundler (esbuild.config.mjs, which imports esbuild at its top) does
 * not travel: inlined, it would make bench.mjs import esbuild at load, which fails on a machine
 * without it. In its place, a module that says so if `--runtime chromium` is asked for.
 */
const noPageBundler = {
  name: 'no-page-bundler',
  setup(b) {
    b.onResolve({ filter: /esbuild\.config\.mjs$/ }, () => ({ path: 'no-page-bundler', namespace: 'no-page-bundler' }));
    b.onLoad({ filter: /.*/, namespace: 'no-page-bundler' }, () => ({
      contents: "export function bundleForBrowser() { throw new Error('the travelling bench runs on --runtime node only (esbuild does not travel)'); }",
      loader: 'js',
    }));
  },
};
await bundleNodeAll(join(root, 'bench', 'travel.ts'), join(dir, 'bench.mjs'), { sourcemap: false, minifySyntax: true, plugins: [noPageBundler] });
mkdirSync(join(dir, 'torch'));
for (const f of ['bench_torch.py', 'losses.py']) cpSync(join(root, 'bench', 'torch', f), join(dir, 'torch', f));

const webgpu = join(root, 'node_modules', 'webgpu');
const webgpuOut = join(dir, 'node_modules', 'webgpu');
mkdirSync(join(webgpuOut, 'dist'), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) cpSync(join(webgpu, f), join(webgpuOut, f));
cpSync(join(webgpu, 'dist', platform), join(webgpuOut, 'dist', platform), { recursive: true });
// No install step runs there: drop the lifecycle scripts that would need webgpu's build/ folder.
const wpkg = JSON.parse(readFileSync(join(webgpuOut, 'package.json'), 'utf8'));
delete wpkg.scripts;
writeFileSync(join(webgpuOut, 'package.json'), JSON.stringify(wpkg, null, 2));

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, private: true, type: 'module' }, null, 2));
writeFileSync(
  join(dir, 'README.txt'),
  `webgpu-contrastive ${version} benchmark, Node + Dawn (${platform}).

  node bench.mjs --quick        # a minute or two: DCL at N 256, 512 (D 128), every path
  node bench.mjs                # the full sweep (every loss, N 256..2048, D sweep, max-batch probe)
  node bench.mjs --help         # every flag

PyTorch side by side: when python3 (or $BENCH_PYTHON) has torch with CUDA, the bench runs
torch/bench_torch.py on the same cases and adds its rows (fp32, tf32, torch.compile) with a
fused/torch ratio; otherwise it says why not. Alone: python3 torch/bench_torch.py --quick

Needs Node >= 20 and a Vulkan driver (Linux; NVIDIA: the proprietary driver with its Vulkan ICD).
Results: bench/results/<adapter>-node[-quick].json. Without a GPU driver on Linux it relaunches
itself on Chromium's SwiftShader when Chromium is installed (a CPU, not a GPU).
`,
);

const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const du = (p) => {
  const st = statSync(p);
  return st.isDirectory() ? readdirSync(p).reduce((s, f) => s + du(join(p, f)), 0) : st.size;
};
console.log(`${dir}: ${mib(du(dir))} (bench.mjs ${mib(statSync(join(dir, 'bench.mjs')).size)}, node_modules/webgpu ${mib(du(webgpuOut))})`);
if (archiveToo) {
  const archive = join(outDir, `${name}.tar.xz`);
  rmSync(archive, { force: true });
  execFileSync('tar', ['-cJf', archive, '-C', outDir, name]);
  console.log(`${archive}: ${mib(statSync(archive).size)}`);
}
