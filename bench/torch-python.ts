/**
 * The PyTorch side of the bench from Node: find a Python that has torch, run bench/torch/bench_torch.py,
 * read its JSON. Node built-ins only (it travels in the packed bench.mjs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Python interpreter with torch, or why none was found. */
export type TorchPython = { python: string; torch: string; cuda: boolean; device: string } | { absent: string };

/**
 * Interpreters tried in order: $BENCH_PYTHON, `python3` on PATH, then /usr/bin/python3 (Debian's
 * python3-torch installs there, which a pyenv or venv `python3` earlier on PATH does not see).
 */
export function findTorchPython(env: Record<string, string | undefined> = process.env): TorchPython {
  const candidates = [...new Set([env.BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p))];
  const probe = 'import json, torch; c = torch.cuda.is_available(); print(json.dumps([torch.__version__, c, torch.cuda.get_device_name(0) if c else "cpu"]))';
  const reasons: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) {
      const [torch, cuda, device] = JSON.parse(r.stdout.trim().split('\n').pop()!) as [string, boolean, string];
      return { python, torch, cuda, device };
    }
    reasons.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { absent: `no Python with torch (${reasons.join('; ')})` };
}

/** Where the torch script lies: beside the bundle (travelling directory: ./torch/) or in the checkout (bench/torch/). */
export function torchScript(baseDir: string): string {
  return join(baseDir, 'torch', 'bench_torch.py');
}

/**
 * Run the torch bench with `args` (its own flags) and return its parsed JSON; progress lines go
 * to `log`. Rejects when the script fails.
 */
export async function runTorchBench<T>(python: string, script: string, args: string[], log: (line: string) => void): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-torch-'));
  const out = join(dir, 'torch.json');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(python, [script, ...args, '--json', out], { stdio: ['ignore', 'inherit', 'pipe'] });
      let tail = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        tail = (tail + chunk).slice(-4000);
        for (const line of chunk.split('\n').filter(Boolean)) log(line);
      });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}: ${tail.trim().split('\n').pop() ?? ''}`))));
    });
    return JSON.parse(readFileSync(out, 'utf8')) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
