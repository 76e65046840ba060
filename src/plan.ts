/**
 * One (N, D, options) shape of the fused loss: the workspace it needs, the uniform values each
 * kernel reads, and the pass sequence with every binding named. Pure data: nothing here touches
 * a GPUDevice, so the dispatcher, the CPU race-check pipeline and the tests share one plan.
 *
 * Pass order: normalize_rows → (bank form) normalize_bank → anchor_stats → anchor_stats_merge →
 * loss_finalize → (backward) grad_rows → normalize_backward. Everything is O((N + K)·D): the
 * similarity matrix (2N×2N, or N×K against a bank) is recomputed tile by tile and never stored.
 *
 * The two tile passes (anchor_stats, grad_rows) split the candidate axis into chunks so that a
 * small batch, or a few anchors against a large bank, still dispatch enough workgroups to fill
 * a large GPU; {@link splitCandidates} chooses the split from the shape alone (WebGPU does not
 * expose the multiprocessor count). anchor_stats_merge combines anchor_stats' chunks, and
 * normalize_backward adds grad_rows' slices as it reads them.
 */
import { LOSS_FORMS, TILES, type KernelName } from './kernels.js';
import type { LossName, ResolvedLossOptions } from './options.js';

/** Bytes per f32. */
export const F32 = 4;

/** `loss_kind` of loss_finalize.wgsl's FinalParams. */
export const LOSS_KIND: Readonly<Record<LossName, number>> = { ntxent: 0, dcl: 1, dclw: 2, flatnce: 3, dualtemp: 4, supcon: 5, siglip: 6 };

/** TileParams.flags of similarity_tile.wgsl: the extras anchor_stats computes. */
export const TILE_FLAGS = { secondTemperature: 1, softmaxMean: 2, uniformity: 4 } as const;
/** FinalParams.flags of loss_finalize.wgsl: the extra outputs it writes. */
export const FINAL_FLAGS = { tauGradient: 1, diagnostics: 2, biasGradient: 4 } as const;

/**
 * Scratch buffers of one shape: every pass that reads one runs after the pass that fully writes
 * it. `spareGradTemperature`/`spareDiagnostics` stand in for loss_finalize's optional outputs
 * when they are not asked for (a binding needs a buffer; nothing reads them); `spareLabels`
 * stands in for the labels the tile kernels bind but read only for supcon.
 */
export type WorkspaceName =
  | 'U'
  | 'gU'
  | 'norms'
  | 'statPartials'
  | 'stats'
  | 'pair'
  | 'coefs'
  | 'spareGradTemperature'
  | 'spareDiagnostics'
  | 'spareLabels';

/** Output buffers the fused path writes. */
export type OutputName = 'loss' | 'perAnchor' | 'gradZ1' | 'gradZ2' | 'gradTemperature' | 'diagnostics' | 'gradBias';

/** Caller inputs a pass reads. */
export type InputName = 'z1' | 'z2' | 'bank' | 'labels';

/** Uniform/constant buffers of a plan, each identified by its content. */
export type ConstantName = 'norm' | 'bank' | 'tile' | 'final';

/**
 * What one binding of a planned pass is bound to: a caller input, an output, a workspace
 * buffer, a uniform of the plan, or the upstream gradient (caller's buffer or a constant).
 */
export type BindingRef =
  | { kind: 'input'; name: InputName }
  | { kind: 'output'; name: OutputName }
  | { kind: 'workspace'; name: WorkspaceName }
  | { kind: 'constant'; name: ConstantName }
  | { kind: 'upstream' };

/** One dispatch: the kernel, its bindings in binding order, and the workgroup grid. */
export interface PlannedPass {
  kernel: KernelName;
  bindings: readonly BindingRef[];
  grid: [number, number, number];
  /** Workgroups dispatched: the grid's product. */
  workgroups: number;
}

/**
 * How a tile pass splits its candidate axis: `chunks` chunks of `chunkLength` candidates (a
 * multiple of 128; the last may be shorter), from the axis's first row.
 */
export interface CandidateSplit {
  chunks: number;
  chunkLength: number;
}

/** Everything the dispatcher needs to encode one call, computed from the shape and options. */
export interface LossPlan {
  n: number;
  d: number;
  /** vec4s per padded row, ⌈D/4⌉. */
  d4: number;
  /** Rows of both views, 2N. */
  rows: number;
  /** Bank rows K (0: in-batch candidates). */
  bankRows: number;
  /** Anchors of the loss: 2N, or N in bank form and for siglip (the rows of z1). `perAnchor` holds this many. */
  anchors: number;
  backward: boolean;
  /** Outputs this call writes (gradients only with `backward`, the extras only when asked). */
  outputs: readonly OutputName[];
  /** anchor_stats' split of its candidate axis (the views' rows and/or the bank's). */
  statsSplit: CandidateSplit;
  /** grad_rows' split of the loss's candidates: `chunks` slices of gU (planned on forward-only calls too). */
  gradSplit: CandidateSplit;
  /** Key shared by every plan with the same workspace (N, D4, K and the splits). */
  workspaceKey: string;
  /** Bytes of each workspace buffer. */
  workspaceBytes: Readonly<Record<WorkspaceName, number>>;
  /** Bytes each output buffer must hold at least. */
  outputBytes: Readonly<Record<OutputName, number>>;
  /** Uniform contents, as the kernels' param structs (`bank` only in bank form). */
  constants: Readonly<Partial<Record<ConstantName, Uint32Array>>>;
  passes: readonly PlannedPass[];
}

const input = (name: InputName): BindingRef => ({ kind: 'input', name });
const output = (name: OutputName): BindingRef => ({ kind: 'output', name });
const ws = (name: WorkspaceName): BindingRef => ({ kind: 'workspace', name });
const constant = (name: ConstantName): BindingRef => ({ kind: 'constant', name });
const upstream: BindingRef = { kind: 'upstream' };

/**
 * Workspace sizes for N rows per view, D4 vec4s per row, K bank rows, `statRows` rows of
 * anchor statistics in `statChunks` chunks and `gradSlices` slices of ∂L/∂U. Linear in N + K
 * for a fixed split; {@link splitCandidates} bounds the split's part.
 */
export function workspaceBytes(n: number, d4: number, k = 0, statRows = 2 * n, statChunks = 1, gradSlices = 1): Record<WorkspaceName, number> {
  const row = d4 * 16;
  const anchors = k > 0 ? n : 2 * n;
  return {
    U: (2 * n + k) * row,
    // grad_rows' slices: the first holds the 2N rows, each later one the anchors' rows.
    gU: (2 * n + (gradSlices - 1) * anchors) * row,
    norms: 2 * n * F32,
    statPartials: statChunks * statRows * 8 * F32,
    stats: 2 * n * 4 * F32,
    pair: n * 2 * F32,
    coefs: 2 * n * 2 * F32,
    spareGradTemperature: F32,
    spareDiagnostics: 4 * F32,
    spareLabels: F32,
  };
}

/**
 * Bytes the split of the candidate axis adds to a plan's workspace: anchor_stats' partial states
 * and grad_rows' gradient slices past the first. Bounded by the split (see test/plan.test.ts),
 * not by N·N; the rest of the workspace is exactly linear in N and K.
 */
export function splitWorkspaceBytes(plan: LossPlan): number {
  return plan.workspaceBytes.statPartials + plan.workspaceBytes.gU - plan.rows * plan.d4 * 16;
}

/** Workgroups a tile pass aims for when the shape has that many tiles: enough to fill a large GPU. */
export const TARGET_WORKGROUPS = 1024;

/** What an adapter says of itself (GPUAdapterInfo; `device.adapterInfo` where the runtime has it). */
export interface AdapterTraits {
  isFallbackAdapter?: boolean;
  architecture?: string;
  description?: string;
  device?: string;
}

/**
 * The split a device should get: {@link TARGET_WORKGROUPS} on a GPU; none (1) on a CPU adapter
 * (SwiftShader, llvmpipe/lavapipe, WARP), which runs a few workgroups at a time, one per core,
 * and pays a setup cost per workgroup: there the split only adds time (measured on SwiftShader:
 * DCL at N = 1024, D = 128 took 3.2 s split for 1024 workgroups, 2.1 s unsplit). WebGPU does
 * not expose a GPU's multiprocessor count, so a GPU always gets the same target.
 */
export function targetWorkgroupsFor(info: AdapterTraits | undefined): number {
  if (!info) return TARGET_WORKGROUPS;
  const names = `${info.architecture ?? ''} ${info.description ?? ''} ${info.device ?? ''}`;
  return info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|\bwarp\b/i.test(names) ? 1 : TARGET_WORKGROUPS;
}
/** Most bytes grad_rows' slices of ∂L/∂U may take when the split needs more than one. */
export const GRAD_SLICES_BUDGET = 64 * 1024 * 1024;

/**
 * Split `candidates` candidates (in tiles of 128) among workgroups of which `blocks` cover the
 * rest of the grid (row blocks × column blocks), so that blocks × chunks reaches `target`
 * workgroups when there are enough tiles: at least ⌈target / blocks⌉ chunks, at most one per
 * tile, and no more than `maxChunks`. A chunk is whole tiles, so chunks never overlap and each
 * candidate is in exactly one.
 */
export function splitCandidates(candidates: number, blocks: number, maxChunks = Infinity, target = TARGET_WORKGROUPS): CandidateSplit {
  const tiles = Math.max(1, Math.ceil(candidates / TILES.statsCols));
  const wanted = Math.max(1, Math.min(tiles, Math.ceil(target / blocks), Math.floor(maxChunks)));
  // floor: the tiles per chunk rounds down, so the chunk count never falls below `wanted`.
  const tilesPerChunk = Math.max(1, Math.floor(tiles / wanted));
  return { chunks: Math.ceil(tiles / tilesPerChunk), chunkLength: tilesPerChunk * TILES.statsCols };
}

/**
 * The plan of one call. `opts` must come from `resolveOptions`; `targetWorkgroups` is what the
 * tile passes' split aims for ({@link targetWorkgroupsFor}; 1: no split).
 */
export function planLoss(n: number, d: number, opts: ResolvedLossOptions, backward: boolean, targetWorkgroups = TARGET_WORKGROUPS): LossPlan {
  const d4 = Math.ceil(d / 4);
  const rows = 2 * n;
  const k = opts.bankRows;
  // Rows with candidate work in grad_rows: 2N, or the N rows of u1 in bank form. The loss's own
  // anchors (perAnchor) are those, except siglip's: the N rows of u1 (its u2 rows get gradients
  // from the same pairs, taken from their side).
  const anchors = k > 0 ? n : rows;
  const lossAnchors = opts.loss === 'siglip' ? n : anchors;
  const labels: BindingRef = opts.loss === 'supcon' ? input('labels') : ws('spareLabels');
  const slice = Math.min(rows, TILES.rowsPerSlice);
  const rowGrid = grid(slice, Math.ceil(rows / slice));
  const pairGrid = grid(Math.min(n, slice), Math.ceil(n / slice));
  const statRows = statRowsOf(n, opts);
  // anchor_stats' axis: the views' rows when the in-batch loss or uniformity pairs them, then the
  // bank; siglip: u2's rows only (its anchors are u1's).
  const statsCandidates = opts.loss === 'siglip' ? n : (k === 0 || opts.diagnostics ? rows : 0) + k;
  const statsSplit = splitCandidates(statsCandidates, Math.ceil(statRows / TILES.statsRows), Infinity, targetWorkgroups);
  // grad_rows' axis: the loss's candidates; its row blocks with candidate work hold the anchors.
  const gradColumnBlocks = Math.ceil(d4 / TILES.gradVec4Cols);
  // Planned for forward-only calls too, so both share one workspace (and one uniform).
  const gradSplit = splitCandidates(k || rows, Math.ceil(anchors / TILES.gradRows) * gradColumnBlocks, GRAD_SLICES_BUDGET / (anchors * d4 * 16), targetWorkgroups);
  const passes: PlannedPass[] = [
    {
      kernel: 'normalizeRows',
      bindings: [constant('norm'), input('z1'), input('z2'), ws('U'), ws('norms'), ws('pair')],
      ...pairGrid,
    },
  ];
  if (k > 0) {
    const bankSlice = Math.min(k, TILES.rowsPerSlice);
    passes.push({
      kernel: 'normalizeBank',
      bindings: [constant('bank'), input('bank'), ws('U')],
      ...grid(bankSlice, Math.ceil(k / bankSlice)),
    });
  }
  passes.push(
    {
      kernel: 'anchorStats',
      bindings: [constant('tile'), ws('U'), ws('norms'), ws('statPartials'), labels],
      ...grid(Math.ceil(statRows / TILES.statsRows), statsSplit.chunks),
    },
    {
      kernel: 'anchorStatsMerge',
      bindings: [constant('tile'), ws('statPartials'), ws('norms'), ws('stats')],
      ...grid(Math.ceil(statRows / TILES.mergeRows), 1),
    },
    {
      kernel: 'lossFinalize',
      bindings: [
        constant('final'),
        ws('stats'),
        ws('pair'),
        upstream,
        output('loss'),
        output('perAnchor'),
        ws('coefs'),
        opts.gradTemperature ? output('gradTemperature') : ws('spareGradTemperature'),
        // siglip has no diagnostics: its ∂L/∂b shares the binding (8 storage buffers per stage at most).
        opts.diagnostics ? output('diagnostics') : opts.gradBias ? output('gradBias') : ws('spareDiagnostics'),
      ],
      ...grid(1, 1),
    },
  );
  if (backward) {
    passes.push(
      {
        kernel: 'gradRows',
        bindings: [constant('tile'), ws('U'), ws('stats'), ws('coefs'), ws('gU'), ws('norms'), labels],
        ...grid(Math.ceil(rows / TILES.gradRows), gradColumnBlocks, gradSplit.chunks),
      },
      {
        kernel: 'normalizeBackward',
        bindings: [constant('norm'), ws('U'), ws('gU'), ws('norms'), output('gradZ1'), output('gradZ2')],
        ...rowGrid,
      },
    );
  }
  const wsBytes = workspaceBytes(n, d4, k, statRows, statsSplit.chunks, gradSplit.chunks);
  const zBytes = n * d * F32;
  const outputs: OutputName[] = ['loss', 'perAnchor'];
  if (backward) outputs.push('gradZ1', 'gradZ2');
  if (opts.gradTemperature) outputs.push('gradTemperature');
  if (opts.diagnostics) outputs.push('diagnostics');
  if (opts.gradBias) outputs.push('gradBias');
  const constants: Partial<Record<ConstantName, Uint32Array>> = {
    norm: packNormParams(n, d, d4, gradSplit.chunks, anchors),
    tile: packTileParams(n, d4, opts, statsSplit.chunkLength, gradSplit.chunkLength),
    final: packFinalParams(n, opts),
  };
  if (k > 0) constants.bank = packBankParams(n, d, d4, k);
  return {
    n,
    d,
    d4,
    rows,
    bankRows: k,
    anchors: lossAnchors,
    backward,
    outputs,
    statsSplit,
    gradSplit,
    workspaceKey: `${n}x${d4}x${k}/${statRows}x${statsSplit.chunks}/${gradSplit.chunks}`,
    workspaceBytes: wsBytes,
    outputBytes: { loss: F32, perAnchor: lossAnchors * F32, gradZ1: zBytes, gradZ2: zBytes, gradTemperature: F32, diagnostics: 4 * F32, gradBias: F32 },
    constants,
    passes,
  };
}

/** A pass's grid and its workgroup count. */
function grid(x: number, y: number, z = 1): { grid: [number, number, number]; workgroups: number } {
  return { grid: [x, y, z], workgroups: x * y * z };
}

/** Rows anchor_stats writes: the anchors, or all 2N view rows when uniformity is asked; siglip's N rows of u1. */
function statRowsOf(n: number, o: ResolvedLossOptions): number {
  if (o.loss === 'siglip') return n;
  return o.diagnostics || o.bankRows === 0 ? 2 * n : n;
}

/**
 * Where the temperature lives in the uniforms: TileParams and FinalParams both hold
 * `inv_tau = 1/τ`, `inv_tau2 = 1/(τ·m)` as two adjacent f32 at byte 32 (f[8], f[9] of
 * {@link packTileParams}/{@link packFinalParams}). With a temperature read on the GPU
 * (`EncodeArgs.temperatureParams`) the dispatcher copies those 8 bytes into each of them.
 */
export const TEMPERATURE_FIELDS: readonly { constant: ConstantName; byteOffset: number }[] = [
  { constant: 'tile', byteOffset: 32 },
  { constant: 'final', byteOffset: 32 },
];

/**
 * Where siglip's bias lives in the uniforms: TileParams.bias, one f32 at byte 52, and FinalParams.bias
 * at byte 24 (where loss_finalize checks it is finite). With a bias read on the GPU
 * (`EncodeArgs.biasParams`) the dispatcher copies those 4 bytes into both.
 */
export const BIAS_FIELDS: readonly { constant: ConstantName; byteOffset: number }[] = [
  { constant: 'tile', byteOffset: 52 },
  { constant: 'final', byteOffset: 24 }, // FinalParams.bias: checked there (a non-finite b gives NaN outputs)
];

/** One uniform field read on the GPU: where it goes, how many bytes, and the caller's buffer it comes from. */
export interface GpuParamField {
  constant: ConstantName;
  byteOffset: number;
  bytes: number;
  source: GPUBuffer;
  /** `τ` or `b`, for the uniform's cache key. */
  what: string;
}

/** The uniform fields a call copies from `temperatureParams` (8 bytes) and `biasParams` (4 bytes). */
export function gpuParamFields(temperatureParams?: GPUBuffer, biasParams?: GPUBuffer): GpuParamField[] {
  const fields: GpuParamField[] = [];
  if (temperatureParams) for (const f of TEMPERATURE_FIELDS) fields.push({ ...f, bytes: 2 * F32, source: temperatureParams, what: 'τ' });
  if (biasParams) for (const f of BIAS_FIELDS) fields.push({ ...f, bytes: F32, source: biasParams, what: 'b' });
  return fields;
}

/** `data` with every field of `fields` zeroed: the content of a uniform those fields are copied into on the GPU. */
export function withoutGpuFields(data: Uint32Array, fields: readonly { byteOffset: number; bytes: number }[]): Uint32Array {
  const copy = data.slice();
  for (const f of fields) copy.fill(0, f.byteOffset / 4, (f.byteOffset + f.bytes) / 4);
  return copy;
}

/**
 * normalize_rows / normalize_backward's NormParams: `gradSlices` slices of gU to add, each past
 * the first holding `sliceRows` rows (the anchors).
 */
export function packNormParams(n: number, d: number, d4: number, gradSlices = 1, sliceRows = 2 * n): Uint32Array {
  return new Uint32Array([n, d, d4, Math.min(2 * n, TILES.rowsPerSlice), gradSlices, sliceRows, 0, 0]);
}

/** normalize_bank's BankParams: K rows of D, written to U from row 2N on. */
export function packBankParams(n: number, d: number, d4: number, k: number): Uint32Array {
  return new Uint32Array([k, d, d4, Math.min(k, TILES.rowsPerSlice), 2 * n, 0, 0, 0]);
}

/** anchor_stats / anchor_stats_merge / grad_rows' TileParams, with each tile pass's chunk length. */
export function packTileParams(n: number, d4: number, o: ResolvedLossOptions, statsChunk: number, gradChunk: number): Uint32Array {
  const b = new ArrayBuffer(64);
  const u = new Uint32Array(b);
  const f = new Float32Array(b);
  const k = o.bankRows;
  u[0] = n;
  u[1] = 2 * n;
  u[2] = 2 * n + k;
  u[3] = k > 0 ? n : 2 * n;
  u[4] = d4;
  // dualtemp resolves to 'cross'; siglip pairs the two towers only (its tiles are the cross ones)
  u[5] = (k === 0 && o.negatives === 'cross') || o.loss === 'siglip' ? 1 : 0;
  u[6] =
    (o.loss === 'dualtemp' ? TILE_FLAGS.secondTemperature : 0) |
    (o.gradTemperature ? TILE_FLAGS.softmaxMean : 0) |
    (o.diagnostics ? TILE_FLAGS.uniformity : 0);
  u[7] = statRowsOf(n, o);
  f[8] = 1 / o.temperature;
  f[9] = 1 / (o.temperature * o.dtM);
  u[10] = statsChunk;
  u[11] = gradChunk;
  u[12] = o.loss === 'supcon' ? LOSS_FORMS.supcon : o.loss === 'siglip' ? LOSS_FORMS.siglip : LOSS_FORMS.softmax;
  f[13] = o.loss === 'siglip' ? o.bias : 0;
  return u;
}

/** loss_finalize's FinalParams. */
export function packFinalParams(n: number, o: ResolvedLossOptions): Uint32Array {
  const b = new ArrayBuffer(48);
  const u = new Uint32Array(b);
  const f = new Float32Array(b);
  u[0] = n;
  u[1] = o.bankRows > 0 || o.loss === 'siglip' ? n : 2 * n;
  u[2] = LOSS_KIND[o.loss];
  u[3] = o.weightGrad ? 1 : 0;
  u[4] =
    (o.gradTemperature ? FINAL_FLAGS.tauGradient : 0) |
    (o.diagnostics ? FINAL_FLAGS.diagnostics : 0) |
    (o.gradBias ? FINAL_FLAGS.biasGradient : 0);
  u[5] = 0x7fc00000; // a quiet NaN's bits: uniformity for N = 1, outputs of invalid GPU-read τ or b
  f[6] = o.loss === 'siglip' ? o.bias : 0;
  f[8] = 1 / o.temperature;
  f[9] = 1 / (o.temperature * o.dtM);
  f[10] = 1 / o.sigma;
  f[11] = o.loss === 'supcon' ? 1 / o.baseTemperature : 0;
  return u;
}
