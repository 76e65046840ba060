/**
 * The benchmark page: registers the functions the Node driver (bench/main.ts) calls. Every path
 * runs on one device, tfjs's WebGPU backend's (see ./context.ts).
 */
import { exposeToNode } from '../../src/chromium/page-rpc.js';
import { adapterSummary, benchContext } from './context.js';
import { fmaPeak } from './fma.js';
import { probeFused, timeFused } from './fused-case.js';
import { probeTfjs, timeMatmul, timeTfjs } from './tfjs-case.js';
import { runBothPaths } from './check.js';
import { renderChart } from './chart.js';

const pageFunctions = {
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
  probeFused,
  probeTfjs,
  runBothPaths,
  renderChart,
};

/** The functions the benchmark page offers to Node. */
export type BenchPageApi = typeof pageFunctions;

exposeToNode(pageFunctions);
