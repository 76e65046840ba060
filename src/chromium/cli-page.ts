/**
 * The page the CLI opens in headless Chromium for `--runtime chromium`: one ContrastiveLoss on
 * the page's own device, and the CLI's GPU functions (src/cli/gpu-session.ts) offered to Node.
 */
import { ContrastiveLoss, type LossResult } from '../contrastive-loss.js';
import type { LossOptions } from '../options.js';
import { runLossOn, timeLossOn } from '../cli/gpu-session.js';
import { exposeToNode } from './page-rpc.js';

let lossPromise: Promise<ContrastiveLoss> | undefined;
function pageLoss(): Promise<ContrastiveLoss> {
  lossPromise ??= ContrastiveLoss.create();
  return lossPromise;
}

/** One fused forward+backward through `ContrastiveLoss.compute`. */
export async function runLoss(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions): Promise<LossResult> {
  return runLossOn(await pageLoss(), z1, z2, n, d, options);
}

/** Wall times of fused forward+backward passes (see {@link timeLossOn}). */
export async function timeLoss(z1: Float32Array, z2: Float32Array, n: number, d: number, options: LossOptions, warmup: number, runs: number): Promise<number[]> {
  return timeLossOn(await pageLoss(), z1, z2, n, d, options, warmup, runs);
}

const pageFunctions = { runLoss, timeLoss };

/** The functions the CLI page offers to Node. */
export type CliPageApi = typeof pageFunctions;

exposeToNode(pageFunctions);
