/**
 * The test page: registers the functions Node-side tests call through `openPage()` (Chromium)
 * or `openRuntime('node')` (the same functions imported into Node on Dawn).
 */
import { exposeToNode } from '../../src/chromium/page-rpc.js';
import { adapterReport, runNormalizeRows } from './smoke.js';
import { computeLoss, destroyBehaviour, encodeError, fusedPeakBytes, lostDeviceError, runFusedLoss } from './loss-runner.js';
import { computeSecondWave, runSecondWave, secondWavePeakBytes, secondWaveError } from './second-wave-page.js';
import { deviceLossDuringCompute, encodeManyThenSubmit, soak, strictError } from './lifetime-page.js';
import { tfjsOnCpuError, tfjsOpCompare, tfjsOpLeak, tfjsTraining } from './tfjs-page.js';
import { jaxReady, jaxStepCompare, jaxStepErrors, jaxTrainingLoop } from './jax-page.js';
import { negativeQueueErrors, negativeQueueRun } from './negative-queue-page.js';
import { temperatureParamsErrors, temperatureParamsRuns } from './gpu-temperature-page.js';
import { bankPastLimits, computeControls, createProgress, destroyWhileComputing, readOutputsRun } from './api-page.js';
import { invalidGpuParams, runThirdWave, thirdWaveErrors } from './third-wave-page.js';
import { tfjsThirdWaveRun } from './tfjs-third-wave-page.js';
import { tfjsLearnTemperature, tfjsMoCoQueue, tfjsSecondWaveCompare, tfjsSecondWaveErrors, tfjsSecondWaveLeak } from './tfjs-second-wave-page.js';

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
  negativeQueueRun,
  negativeQueueErrors,
  runSecondWave,
  computeSecondWave,
  secondWaveError,
  secondWavePeakBytes,
  tfjsSecondWaveCompare,
  tfjsSecondWaveLeak,
  tfjsLearnTemperature,
  tfjsMoCoQueue,
  tfjsSecondWaveErrors,
  temperatureParamsRuns,
  temperatureParamsErrors,
  // issue 9: lifetime, strict inputs, device loss (test/lifetime.test.ts, test/strict.test.ts)
  encodeManyThenSubmit,
  soak,
  strictError,
  deviceLossDuringCompute,
  // issue 19: reliability and API (test/strict.test.ts)
  destroyWhileComputing,
  bankPastLimits,
  readOutputsRun,
  createProgress,
  computeControls,
  // issue 13: the jax-js adapter (test/jax.test.ts, test/jax.node.test.ts)
  jaxReady,
  jaxStepCompare,
  jaxTrainingLoop,
  jaxStepErrors,
  // issue 18: supcon and siglip (test/third-wave.test.ts, and test/fused-loss.node.test.ts beside the fused matrix)
  runThirdWave,
  thirdWaveErrors,
  invalidGpuParams,
  tfjsThirdWaveRun,
};

/** The functions the test page offers (typed calls from Node). */
export type PageApi = typeof pageFunctions;

exposeToNode(pageFunctions);
