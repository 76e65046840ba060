/**
 * One (N, D, options) shape of the fused loss: the workspace it needs, the uniform values each
 * kernel reads, and the pass sequence with every binding named. Pure data: nothing here touches
 * a GPUDevice, so the dispatcher, the CPU race-check pipeline and the tests share one plan.
 *
 * Pass order: normalize_rows → anchor_stats → loss_finalize → (backward) grad_rows →
 * normalize_backward. Everything is O(N·D): the 2N×2N similarity matrix is recomputed tile by
 * tile and never stored.
 */
import { TILES, type KernelName } from './kernels.js';
import type { LossName, ResolvedLossOptions } from './options.js';

/** Bytes per f32. */
export const F32 = 4;

/** `loss_kind` of loss_finalize.wgsl's FinalParams. */
export const LOSS_KIND: Readonly<Record<LossName, number>> = { ntxent: 0, dcl: 1, dclw: 2, flatnce: 3, dualtemp: 4 };

/** Scratch buffers of one shape: every pass that reads one runs after the pass that fully writes it. */
export type WorkspaceName = 'U' | 'gU' | 'norms' | 'lse' | 'lse2' | 'cosPos' | 'coefC' | 'posCoef';

/** Output buffers the fused path writes. */
export type OutputName = 'loss' | 'perAnchor' | 'gradZ1' | 'gradZ2';

/** Uniform/constant buffers of a plan, each identified by its content. */
export type ConstantName = 'norm' | 'tile' | 'final';

/**
 * What one binding of a planned pass is bound to: a caller input, an output, a workspace
 * buffer, a uniform of the plan, or the upstream gradient (caller's buffer or a constant).
 */
export type BindingRef =
  | { kind: 'input'; name: 'z1' | 'z2' }
  | { kind: 'output'; name: OutputName }
  | { kind: 'workspace'; name: WorkspaceName }
  | { kind: 'constant'; name: ConstantName }
  | { kind: 'upstream' };

/** One dispatch: the kernel, its bindings in binding order, and the workgroup grid. */
export interface PlannedPass {
  kernel: KernelName;
  bindings: readonly BindingRef[];
  grid: [number, number];
}

/** Everything the dispatcher needs to encode one call, computed from the shape and options. */
export interface LossPlan {
  n: number;
  d: number;
  /** vec4s per padded row, ⌈D/4⌉. */
  d4: number;
  /** Anchors, 2N. */
  rows: number;
  backward: boolean;
  /** Key shared by every plan with the same workspace (N and D4). */
  workspaceKey: string;
  /** Bytes of each workspace buffer. */
  workspaceBytes: Readonly<Record<WorkspaceName, number>>;
  /** Bytes each output buffer must hold at least. */
  outputBytes: Readonly<Record<OutputName, number>>;
  /** Uniform contents, as the kernels' param structs. */
  constants: Readonly<Record<ConstantName, Uint32Array>>;
  passes: readonly PlannedPass[];
}

const input = (name: 'z1' | 'z2'): BindingRef => ({ kind: 'input', name });
const output = (name: OutputName): BindingRef => ({ kind: 'output', name });
const ws = (name: WorkspaceName): BindingRef => ({ kind: 'workspace', name });
const constant = (name: ConstantName): BindingRef => ({ kind: 'constant', name });
const upstream: BindingRef = { kind: 'upstream' };

/** Workspace sizes for N rows per view and D4 vec4s per row. */
export function workspaceBytes(n: number, d4: number): Record<WorkspaceName, number> {
  const mat = 2 * n * d4 * 16;
  const vec = 2 * n * F32;
  return { U: mat, gU: mat, norms: vec, lse: vec, lse2: vec, cosPos: vec, coefC: vec, posCoef: vec };
}

/** The plan of one call. `opts` must come from `resolveOptions`. */
export function planLoss(n: number, d: number, opts: ResolvedLossOptions, backward: boolean): LossPlan {
  const d4 = Math.ceil(d / 4);
  const rows = 2 * n;
  const slice = Math.min(rows, TILES.rowsPerSlice);
  const rowGrid: [number, number] = [slice, Math.ceil(rows / slice)];
  const pairGrid: [number, number] = [Math.min(n, slice), Math.ceil(n / slice)];
  const passes: PlannedPass[] = [
    {
      kernel: 'normalizeRows',
      bindings: [constant('norm'), input('z1'), input('z2'), ws('U'), ws('norms'), ws('cosPos')],
      grid: pairGrid,
    },
    {
      kernel: 'anchorStats',
      bindings: [constant('tile'), ws('U'), ws('lse'), ws('lse2')],
      grid: [Math.ceil(rows / TILES.statsRows), 1],
    },
    {
      kernel: 'lossFinalize',
      bindings: [
        constant('final'),
        ws('lse'),
        ws('lse2'),
        ws('cosPos'),
        upstream,
        output('loss'),
        output('perAnchor'),
        ws('coefC'),
        ws('posCoef'),
      ],
      grid: [1, 1],
    },
  ];
  if (backward) {
    passes.push(
      {
        kernel: 'gradRows',
        bindings: [constant('tile'), ws('U'), ws('lse'), ws('coefC'), ws('posCoef'), ws('gU')],
        grid: [Math.ceil(rows / TILES.gradRows), Math.ceil(d4 / TILES.gradVec4Cols)],
      },
      {
        kernel: 'normalizeBackward',
        bindings: [constant('norm'), ws('U'), ws('gU'), ws('norms'), output('gradZ1'), output('gradZ2')],
        grid: rowGrid,
      },
    );
  }
  const zBytes = n * d * F32;
  return {
    n,
    d,
    d4,
    rows,
    backward,
    workspaceKey: `${n}x${d4}`,
    workspaceBytes: workspaceBytes(n, d4),
    outputBytes: { loss: F32, perAnchor: rows * F32, gradZ1: zBytes, gradZ2: zBytes },
    constants: {
      norm: packNormParams(n, d, d4),
      tile: packTileParams(n, d4, opts),
      final: packFinalParams(n, opts),
    },
    passes,
  };
}

/** normalize_rows / normalize_backward's NormParams. */
export function packNormParams(n: number, d: number, d4: number): Uint32Array {
  return new Uint32Array([n, d, d4, Math.min(2 * n, TILES.rowsPerSlice)]);
}

/** anchor_stats / grad_rows' TileParams. */
export function packTileParams(n: number, d4: number, o: ResolvedLossOptions): Uint32Array {
  const b = new ArrayBuffer(32);
  const u = new Uint32Array(b);
  const f = new Float32Array(b);
  u[0] = n;
  u[1] = 2 * n;
  u[2] = d4;
  u[3] = o.loss === 'dualtemp' ? 1 : 0;
  f[4] = 1 / o.temperature;
  f[5] = 1 / (o.temperature * o.dtM);
  return u;
}

/** loss_finalize's FinalParams. */
export function packFinalParams(n: number, o: ResolvedLossOptions): Uint32Array {
  const b = new ArrayBuffer(32);
  const u = new Uint32Array(b);
  const f = new Float32Array(b);
  u[0] = n;
  u[1] = LOSS_KIND[o.loss];
  u[2] = o.weightGrad ? 1 : 0;
  f[4] = 1 / o.temperature;
  f[5] = 1 / (o.temperature * o.dtM);
  f[6] = 1 / o.sigma;
  return u;
}
