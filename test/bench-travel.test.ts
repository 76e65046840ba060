/**
 * The travelling benchmark (`npm run bench:pack`) runs where nothing of this checkout is: packed
 * (directory only, no .tar.xz), copied to a temporary folder with no node_modules above it, its
 * bench.mjs must import only Node built-ins and `webgpu` at load (issue 17: it imported esbuild and
 * failed on a GPU machine), and a tiny `--quick` run there on SwiftShader must write a JSON whose
 * rows carry mode, GPU and wall ms, warm-up evidence, the fused rows' workgroups per pass, and
 * torch rows when a Python with torch is found (`--torch on`: CPU torch too), else a plain
 * statement of why not.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../bench/torch-python.js';
import type { ResultsFile } from '../bench/types.js';

const NAME = 'webgpu-contrastive-bench-linux-x64';
const work = mkdtempSync(join(tmpdir(), 'bench-travel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Module specifiers bench.mjs loads as it starts: its static imports and literal require() calls. */
function loadTimeSpecifiers(code: string): string[] {
  const statics = [...code.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm)].map((m) => m[1]!);
  const requires = [...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
  return [...new Set([...statics, ...requires])];
}

const isBuiltin = (s: string) => s.startsWith('node:') || builtinModules.includes(s.split('/')[0]!);

describe('the travelling bench directory', () => {
  let dir = '';

  it('packs, and imports nothing at load but Node built-ins and webgpu', () => {
    const packed = join(work, 'pack');
    const r = spawnSync(process.execPath, ['bench/pack.mjs', '--no-archive'], { encoding: 'utf8', env: { ...process.env, BENCH_PACK_OUT: packed } });
    expect(r.status, r.stderr).toBe(0);
    dir = join(work, 'elsewhere', NAME);
    cpSync(join(packed, NAME), dir, { recursive: true });
    for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['README.txt', 'bench.mjs', 'node_modules', 'package.json', 'torch']);
    expect(readdirSync(join(dir, 'torch')).sort()).toEqual(['bench_torch.py', 'losses.py']);
    const outside = loadTimeSpecifiers(readFileSync(join(dir, 'bench.mjs'), 'utf8')).filter((s) => !isBuiltin(s) && s !== 'webgpu');
    expect(outside).toEqual([]);
  });

  it('runs --quick there on SwiftShader and writes the per-case evidence', () => {
    const torch = findTorchPython();
    const args = ['bench.mjs', '--quick', '--n', '64', '--d', '32', '--paths', 'fused,tfjs', '--warmup-ms', '20', '--repeats', '2', '--check-n', '16', '--check-d', '8', '--fma-workgroups', '64', '--fma-target-ms', '5', '--out', 'results', '--torch', 'on', '--torch-args=--variants fp32'];
    const env = { ...process.env };
    delete env.NODE_PATH;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env });
    console.log(`travelling --quick: ${((Date.now() - t0) / 1000).toFixed(1)} s\n${r.stdout}`);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const json = readdirSync(join(dir, 'results')).find((f) => f.endsWith('-node-quick.json'))!;
    const res = JSON.parse(readFileSync(join(dir, 'results', json), 'utf8')) as ResultsFile;
    expect(res.runtime).toBe('node');
    for (const path of ['fused', 'tfjs'] as const) expect(res.rows.filter((x) => x.path === path).map((x) => x.mode)).toEqual(['throughput', 'latency']);
    for (const row of res.rows) {
      expect(row.wall_ms, `${row.path} ${row.mode}`).toBeGreaterThan(0);
      expect(row.warmup.runs).toBeGreaterThanOrEqual(1);
      expect(row.warmup.last_wall_ms.length).toBeGreaterThanOrEqual(1);
    }
    const fusedLatency = res.rows.find((x) => x.path === 'fused' && x.mode === 'latency')!;
    if (res.adapter.timestampQuery) expect(fusedLatency.gpu_ms).toBeGreaterThan(0);
    const wg = fusedLatency.workgroups!;
    expect(Object.keys(wg).length).toBeGreaterThanOrEqual(3);
    for (const count of Object.values(wg)) expect(count).toBeGreaterThanOrEqual(1);
    if ('absent' in torch) {
      expect(res.torch).toMatch(/^torch: not run, no Python with torch/);
    } else {
      expect(res.rows.filter((x) => x.path === 'torch').map((x) => `${x.variant} ${x.mode}`)).toEqual(['fp32 throughput', 'fp32 latency']);
      expect(r.stdout).toMatch(/fused\/torch fp32/);
    }
  });
});
