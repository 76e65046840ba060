/**
 * The benchmark page: registers the functions the Node driver (bench/main.ts) calls. Every path
 * runs on one device, tfjs's WebGPU backend's (see ./context.ts). With `--runtime node` the same
 * functions run in Node on Dawn; only renderChart needs a DOM.
 */
import { exposeToNode } from '../../src/chromium/page-rpc.js';
import { adapterSummary, benchContext } from './context.js';
import { fmaPeak } from './fma.js';
import { probeFused, timeFused } from './fused-case.js';
import { probeTfjs, timeMatmul, timeTfjs } from './tfjs-case.js';
import { runBothPaths } from './check.js';
import { renderChart } from './chart.js';
import { timeGemm } from './gemm-case.js';
import { runBankBothPaths, timeBankFused, timeBankTfjs } from './bank-case.js';

/** Every page function, by name: called by RPC in Chromium, or directly in Node (bench/session.ts). */
export const pageFunctions = {
  /** Start tfjs and the dispatcher; resolves once both are ready. */
  start: async () => {
    await benchContext();
    return true;
  },
  adapterSummary,
  fmaPeak,
  timeFused,
  timeTfjs,
  timeMatmul,
  timeGemm,
  probeFused,
  probeTfjs,
  runBothPaths,
  renderChart,
  timeBankFused,
  timeBankTfjs,
  runBankBothPaths,
};

/** The functions the benchmark page offers to Node. */
export type BenchPageApi = typeof pageFunctions;

exposeToNode(pageFunctions);
