/**
 * The test page: registers the functions Node-side tests call through `openPage()` (Chromium)
 * or `openRuntime('node')` (the same functions imported into Node on Dawn).
 */
import { exposeToNode } from '../../src/chromium/page-rpc.js';
import { adapterReport, runNormalizeRows } from './smoke.js';
import { computeLoss, destroyBehaviour, encodeError, fusedPeakBytes, lostDeviceError, runFusedLoss } from './loss-runner.js';
import { deviceLossDuringCompute, encodeManyThenSubmit, soak, strictError } from './lifetime-page.js';
import { tfjsOnCpuError, tfjsOpCompare, tfjsOpLeak, tfjsTraining } from './tfjs-page.js';

/** Every page function, by name: called through Chromium RPC, or directly in Node (test/harness/runtime.ts). */
export const pageFunctions = {
  adapterReport,
  runNormalizeRows,
  runFusedLoss,
  computeLoss,
  encodeError,
  fusedPeakBytes,
  destroyBehaviour,
  lostDeviceError,
  tfjsOpCompare,
  tfjsOpLeak,
  tfjsTraining,
  tfjsOnCpuError,
  // issue 9: lifetime, strict inputs, device loss (test/lifetime.test.ts, test/strict.test.ts)
  encodeManyThenSubmit,
  soak,
  strictError,
  deviceLossDuringCompute,
};

/** The functions the test page offers (typed calls from Node). */
export type PageApi = typeof pageFunctions;

exposeToNode(pageFunctions);
