/**
 * The chart's content: wall time against N at the sweep's D, log–log, one line per path × loss
 * (fused solid, tfjs dashed, same colour per loss) plus tfjs's bare matMul as a grey reference.
 */
import type { ChartSeries, ChartSpec } from './page/chart.js';
import type { AdapterSummary, ResultRow } from './types.js';

const LOSS_COLORS: Record<string, string> = {
  ntxent: '#1f77b4',
  dcl: '#d62728',
  dclw: '#2ca02c',
  flatnce: '#9467bd',
  dualtemp: '#ff7f0e',
  supcon: '#8c564b',
  siglip: '#e377c2',
  matmul: '#7f7f7f',
};

/** The chart of `rows` at width `d` (latency rows of the WebGPU paths: one point per case). */
export function timeVsNChart(rows: ResultRow[], d: number, adapter: AdapterSummary): ChartSpec {
  const atD = rows.filter((r) => r.d === d && r.mode === 'latency' && r.path !== 'torch');
  const keys = [...new Set(atD.map((r) => `${r.path}|${r.loss}`))];
  const series: ChartSeries[] = keys.map((key) => {
    const [path, loss] = key.split('|') as [ResultRow['path'], ResultRow['loss']];
    const points = atD
      .filter((r) => r.path === path && r.loss === loss)
      .sort((a, b) => a.n - b.n)
      .map((r) => ({ x: r.n, y: r.median_ms }));
    const label = path === 'tfjs-matmul' ? 'tfjs matMul(U, Uᵀ) only (dashed)' : `${path} ${loss} (${path === 'fused' ? 'solid' : 'dashed'})`;
    return { label, points, color: LOSS_COLORS[loss] ?? '#000000', dashed: path !== 'fused' };
  });
  const name = adapter.description || [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  return {
    title: `Contrastive loss forward+backward, D = ${d} — ${name}`,
    subtitle: 'median wall ms (submit → read back); solid/circles: fused WGSL kernels; dashed/triangles: tfjs ops under valueAndGrads (tfjs-backend-webgpu)',
    xLabel: 'batch size N (2N embeddings)',
    yLabel: 'ms per step (log)',
    series,
    xTicks: [...new Set(atD.map((r) => r.n))].sort((a, b) => a - b),
    width: 1200,
    height: 700,
  };
}
