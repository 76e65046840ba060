/**
 * The WGSL programs and the bind-group layout the dispatcher uses for each. One entry per
 * kernel file; the binding list here is checked against the WGSL by reflection in the tests.
 */
import normalizeRows from '../kernels/normalize_rows.wgsl';
import tileParams from '../kernels/tile_params.wgsl';
import stableMath from '../kernels/stable_math.wgsl';
import similarityTile from '../kernels/similarity_tile.wgsl';
import anchorStats from '../kernels/anchor_stats.wgsl';
import anchorStatsMerge from '../kernels/anchor_stats_merge.wgsl';
import lossFinalize from '../kernels/loss_finalize.wgsl';
import gradRows from '../kernels/grad_rows.wgsl';
import normalizeBackward from '../kernels/normalize_backward.wgsl';
import normalizeBank from '../kernels/normalize_bank.wgsl';

/** A compute kernel: its full WGSL source and, per binding index of group 0, the buffer type. */
export interface KernelSpec {
  /** Kernel name (the `.wgsl` file it comes from). */
  name: string;
  /** Complete WGSL (shared snippets already prepended). */
  source: string;
  /** `bindings[i]` is the buffer binding type of `@group(0) @binding(i)`. */
  bindings: readonly GPUBufferBindingType[];
}

const U = 'uniform' as const;
const R = 'read-only-storage' as const;
const W = 'storage' as const;

/** Every kernel of the fused path, in the order they run. */
export const KERNELS = {
  normalizeRows: { name: 'normalize_rows', source: normalizeRows, bindings: [U, R, R, W, W, W] },
  normalizeBank: { name: 'normalize_bank', source: normalizeBank, bindings: [U, R, W] },
  anchorStats: { name: 'anchor_stats', source: tileParams + stableMath + similarityTile + anchorStats, bindings: [U, R, R, W, R] },
  anchorStatsMerge: { name: 'anchor_stats_merge', source: tileParams + anchorStatsMerge, bindings: [U, R, R, W] },
  lossFinalize: { name: 'loss_finalize', source: stableMath + lossFinalize, bindings: [U, R, R, R, W, W, W, W, W] },
  gradRows: { name: 'grad_rows', source: tileParams + stableMath + similarityTile + gradRows, bindings: [U, R, R, R, W, R, R] },
  normalizeBackward: { name: 'normalize_backward', source: normalizeBackward, bindings: [U, R, R, R, W, W] },
} as const satisfies Record<string, KernelSpec>;

/** Kernel keys. */
export type KernelName = keyof typeof KERNELS;

/** Tile geometry the dispatcher must agree with (constants in the WGSL). */
export const TILES = {
  /** anchor_stats.wgsl: anchor rows per workgroup. */
  statsRows: 64,
  /** anchor_stats.wgsl: candidates per tile (SCOLS); chunks of either tile pass are multiples of it. */
  statsCols: 128,
  /** anchor_stats_merge.wgsl: rows (threads) per workgroup. */
  mergeRows: 64,
  /** grad_rows.wgsl: gradient rows per workgroup. */
  gradRows: 64,
  /** grad_rows.wgsl: vec4 gradient columns per workgroup (COLS4). */
  gradVec4Cols: 32,
  /** normalize_rows / normalize_backward: one workgroup per row, sliced along y past this many. */
  rowsPerSlice: 32768,
} as const;

/**
 * TileParams.loss_form (tile_params.wgsl): the candidate mask and per-pair terms of the one tile
 * loop. `softmax`: the first five losses (docs/FORMULAS.md) (an LSE over neg(a), one positive); `supcon`: the LSE
 * over every other row plus the same-label rows' sum; `siglip`: a sigmoid term per cross-tower
 * pair, no LSE.
 */
export const LOSS_FORMS = { softmax: 0, supcon: 1, siglip: 2 } as const;
