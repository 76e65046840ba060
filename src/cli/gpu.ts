/**
 * The GPU the CLI computes on, by `--runtime`:
 *   - `node` (default): Dawn in this process (src/runtime/node.ts), the dispatcher called directly;
 *   - `chromium`: a headless Chromium page (src/chromium/), reached by RPC. Its code (and
 *     puppeteer-core, an optional peer dependency) is loaded only when asked for.
 */
import { ContrastiveLoss, type LossResult } from '../contrastive-loss.js';
import type { LossOptions } from '../options.js';
import { requestNodeDevice } from '../runtime/node.js';
import type { AdapterInfo } from '../runtime/types.js';
import { UsageError, cliPageSource, type CliContext } from './common.js';
import { runLossOn, timeLossOn } from './gpu-session.js';

/** The runtimes `--runtime` accepts. */
export const CLI_RUNTIMES = ['node', 'chromium'] as const;
/** One of {@link CLI_RUNTIMES}. */
export type CliRuntimeName = (typeof CLI_RUNTIMES)[number];

/** A `--runtime` value (default `node`). */
export function runtimeFlag(text: string | undefined): CliRuntimeName {
  if (text === undefined) return 'node';
  if (!(CLI_RUNTIMES as readonly string[]).includes(text)) throw new UsageError(`--runtime must be one of ${CLI_RUNTIMES.join(', ')}, got '${text}'`);
  return text as CliRuntimeName;
}

/** The CLI's GPU work on one runtime. */
export interface CliGpu {
  runtime: CliRuntimeName;
  adapter: AdapterInfo;
  runLoss(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions): Promise<LossResult>;
  timeLoss(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions, warmup: number, runs: number): Promise<number[]>;
  close(): Promise<void>;
}

/** Open `runtime`; close the result when done. */
export async function openCliGpu(runtime: CliRuntimeName, ctx: CliContext): Promise<CliGpu> {
  if (runtime === 'node') {
    const { device, adapter } = await requestNodeDevice();
    let cl: ContrastiveLoss;
    try {
      cl = await ContrastiveLoss.create({ device });
    } catch (e) {
      device.destroy();
      throw e;
    }
    return {
      runtime,
      adapter,
      runLoss: (...args) => runLossOn(cl, ...args),
      timeLoss: (...args) => timeLossOn(cl, ...args),
      close: async () => {
        cl.destroy();
        device.destroy();
      },
    };
  }
  const { openWebGPUPage } = await import('../chromium/webgpu-page.js');
  const page = await openWebGPUPage<import('../chromium/cli-page.js').CliPageApi>(cliPageSource(ctx));
  return {
    runtime,
    adapter: page.adapter,
    runLoss: (...args) => page.call('runLoss', ...args),
    timeLoss: (...args) => page.call('timeLoss', ...args),
    close: page.close,
  };
}

/** `vendor / architecture / description`, or 'unknown adapter'. */
export function adapterLabel(a: AdapterInfo): string {
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' / ') || 'unknown adapter';
}
