/**
 * `webgpu-contrastive`: the command line. `bin/webgpu-contrastive.mjs` imports the built
 * dist/cli/main.js (installed package) or bundles this module (development checkout) and calls
 * {@link main}: argv → files → the dispatcher in this process (Node + Dawn) → files.
 *
 *   webgpu-contrastive eval --loss NAME --z1 A.npy --z2 B.npy --out DIR [options]
 *   webgpu-contrastive demo [--n N] [--d D] [--runs R] [--warmup W] [--seed S]
 */
import { EXIT_RUNTIME, EXIT_USAGE, UsageError, oneLine, packageVersion, type CliContext } from './common.js';
import { DEMO_USAGE, demoCommand } from './demo.js';
import { EVAL_USAGE, evalCommand } from './eval.js';
import { relaunchWithSwiftShader } from '../runtime/node.js';

export type { CliContext } from './common.js';

const COMMANDS: Record<string, { run: (argv: string[], ctx: CliContext) => Promise<number>; usage: string }> = {
  eval: { run: evalCommand, usage: EVAL_USAGE },
  demo: { run: demoCommand, usage: DEMO_USAGE },
};

/** Top-level usage text. */
export const USAGE = `Usage: webgpu-contrastive <command> [options]

Fused WebGPU contrastive losses (NT-Xent, DCL, DCLW, FlatNCE, SimCo dual temperature), run in
this process on Node + Dawn (npm 'webgpu'): the system's Vulkan/Metal/D3D12 driver, else on Linux
Chromium's SwiftShader (the command relaunches itself with it selected). --runtime chromium runs
them in headless Chromium instead (needs puppeteer-core; set CHROME_PATH if Chromium is not found).

Commands:
  eval   Loss and gradients of two .npy views: writes result.json, grad_z1.npy, grad_z2.npy
  demo   Every loss on a random batch: GPU vs float64 reference, and GPU time (npm start)

Options:
  -h, --help      Show help (also: webgpu-contrastive <command> --help)
  -v, --version   Show the version

Exit status: 0 ok, 2 usage or input error, 1 runtime error (no WebGPU adapter, no Chromium, GPU error).`;

/** Whether a command's flags select the Node runtime (the default) and will reach the GPU. */
function usesDawn(argv: string[]): boolean {
  if (argv.some((a) => a === '-h' || a === '--help')) return false;
  const i = argv.findIndex((a) => a === '--runtime' || a.startsWith('--runtime='));
  if (i < 0) return true;
  const value = argv[i]!.includes('=') ? argv[i]!.slice('--runtime='.length) : argv[i + 1];
  return value === 'node';
}

/** Run the CLI on `argv` (without `node` and the script); returns the exit status. */
export async function main(argv: string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      if (topic !== undefined && !COMMANDS[topic]) throw new UsageError(`unknown command '${topic}'; expected eval or demo`);
      if (command === undefined) {
        console.error(USAGE);
        return EXIT_USAGE;
      }
      console.log(topic ? COMMANDS[topic]!.usage : USAGE);
      return 0;
    }
    if (command === '-v' || command === '--version') {
      console.log(packageVersion(ctx));
      return 0;
    }
    const cmd = COMMANDS[command];
    if (!cmd) throw new UsageError(`unknown command '${command}'; expected eval or demo`);
    if (usesDawn(rest)) {
      const status = await relaunchWithSwiftShader();
      if (status !== undefined) return status;
    }
    return await cmd.run(rest, ctx);
  } catch (e) {
    const where = command && COMMANDS[command] ? `webgpu-contrastive ${command}` : 'webgpu-contrastive';
    if (e instanceof UsageError) {
      console.error(`${where}: error: ${oneLine(e)} (see --help)`);
      return EXIT_USAGE;
    }
    console.error(`${where}: error: ${oneLine(e)}`);
    if (process.env.WEBGPU_CONTRASTIVE_DEBUG) console.error(e);
    return EXIT_RUNTIME;
  }
}
