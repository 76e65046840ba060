/**
 * Display names of the MNIST demo's runs, shared by the page (table, bar chart) and the
 * headless driver's printed table. No DOM, no tfjs: run.ts imports it in Node.
 */
import type { DemoRow } from './page.js';

/** Display name of each loss. */
export const LABEL: Record<string, string> = { dcl: 'DCL', ntxent: 'NT-Xent', dclw: 'DCLW', flatnce: 'FlatNCE', dualtemp: 'Dual temperature' };

/** A row's name: the baseline's description, the loss, or "MoCo <loss> K=<queue>". */
export function rowLabel(r: DemoRow): string {
  if (r.batch === null) return r.loss;
  return r.method === 'moco' ? `MoCo ${LABEL[r.loss]} K=${r.queue}` : LABEL[r.loss]!;
}
