/**
 * The fused pipeline of src/contrastive-loss.ts run on the CPU under wgsl_reflect's race
 * detector: every invocation of every workgroup executes in lockstep in an interpreter, each
 * pass gets the same parameters, buffers and grid as the dispatcher gives it on the GPU, and
 * the passes are chained through ordinary typed arrays (normalize_rows → anchor_stats →
 * loss_finalize → grad_rows → normalize_backward).
 *
 * Three parts:
 *   - {@link loadKernels}: KERNELS and the dispatcher's packing functions, bundled by esbuild
 *     with the package's own `.wgsl` text loader (Vite cannot import `.wgsl` as text);
 *   - {@link detectRaces}: wgsl_reflect's detector with five interpreter bugs patched and a
 *     cross-workgroup storage check added (see there);
 *   - {@link runPipeline}: one function per pass.
 */
// @ts-expect-error plain ESM config module without types
import { shared as esbuildShared } from '../../esbuild.config.mjs';
// The package's "main" (wgsl_reflect.node.js) is CommonJS under "type": "module" and does not
// load in Node; its ESM build ships no .d.ts of its own: take the package's types for it.
// @ts-expect-error no declaration file for the ESM build's path
import * as wgslReflectModule from 'wgsl_reflect/wgsl_reflect.module.js';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { resolveOptions, type LossOptions } from '../../src/options.js';

const WR = wgslReflectModule as typeof import('wgsl_reflect');
export const { WgslReflect, ResourceType } = WR;
export type KernelTable = (typeof import('../../src/kernels.js'))['KERNELS'];
export type KernelKey = keyof KernelTable;
type Tiles = (typeof import('../../src/kernels.js'))['TILES'];
type Packers = Pick<typeof import('../../src/plan.js'), 'packTileParams' | 'packFinalParams'>;

// ─── KERNELS, bundled as the package bundles them ────────────────────────────────────────────

/** What src/kernels.ts and src/plan.ts export that the CPU pipeline needs. */
export interface LoadedKernels extends Packers {
  KERNELS: KernelTable;
  TILES: Tiles;
}

let loaded: Promise<LoadedKernels> | undefined;

/** KERNELS, TILES, packTileParams and packFinalParams, bundled by esbuild with `.wgsl` as text. */
export function loadKernels(): Promise<LoadedKernels> {
  loaded ??= (async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const result = await build({
      ...esbuildShared,
      sourcemap: false,
      platform: 'node',
      write: false,
      stdin: {
        contents:
          "export { KERNELS, TILES } from './src/kernels.ts';\n" +
          "export { packTileParams, packFinalParams } from './src/plan.ts';\n",
        resolveDir: root,
        loader: 'ts',
      },
    });
    const code = result.outputFiles![0]!.text;
    return (await import(/* @vite-ignore */ `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as LoadedKernels;
  })();
  return loaded;
}

// ─── The race detector, patched ───────────────────────────────────────────────────────────────
//
// wgsl_reflect 1.6's detectRaces steps every invocation of a workgroup one command at a time.
// Five interpreter bugs matter here, each shown by test/kernel-races.test.ts ("the detector itself"):
//  1. A user function's return value is cached on the call's AST node (CallExpr.cachedReturnValue),
//     which all invocations share: in lockstep every invocation reads the value returned to the
//     LAST invocation that ran the call (e.g. `let v = z_at(row, c)` gives every thread the same
//     v). Patched: the cache is kept per invocation.
//  2. Workgroup variables are wrapped for tracking once, with the first workgroup's tracker, and
//     never rewrapped: accesses by later workgroups go to a tracker nobody checks, so a
//     workgroup-memory race is only seen in workgroup (0,0,0). Patched: tracked data always
//     reports to the tracker of the workgroup being run.
//  3. `v * M` (row vector times matrix, = transpose(M)·v) is evaluated as M·v. Patched for
//     square matrices.
//  4. A barrier that is the first statement of a block (`if (c) { workgroupBarrier(); …`) is
//     stepped into together with the block and executed as a no-op: invocations pass it without
//     waiting. Patched in the source handed to the interpreter: a no-op `let` goes in front of
//     such a barrier, on the same line (line numbers in reports stay those of the kernel).
//  5. Workgroup memory is created once per dispatch, so a workgroup starts with what the previous
//     one left there instead of zeros. Patched: zeroed before each workgroup.
// Not patched (the kernels avoid it): module-scope declarations are evaluated in source order,
// so a workgroup array sized by a const declared further down gets a wrong size (the
// interpreter then throws "Invalid typed array length").
// The detector only compares invocations of one workgroup. Added: every storage access is also
// logged with its workgroup, and two workgroups touching the same bytes of a storage buffer in
// one dispatch, at least one of them writing, are reported (there is no ordering between them).

/** An access of a storage buffer, as logged for the cross-workgroup check. */
interface LoggedAccess {
  workgroup: number;
  invocation: number;
  line: number;
  write: boolean;
}

/** Two workgroups of one dispatch touching the same storage bytes, one of them writing. */
export interface CrossWorkgroupRace {
  bufferId: string;
  byte: number;
  message: string;
}

/** What {@link detectRaces} reports. */
export interface RaceReport {
  /** Races between invocations of one workgroup (wgsl_reflect's own report). */
  races: { bufferId: string; byte: number; message: string }[];
  /** Races between workgroups on storage buffers. */
  crossWorkgroup: CrossWorkgroupRace[];
  /** Interpreter errors (barrier divergence, step budget exceeded, …). */
  errors: string[];
}

interface TrackerLike {
  currentInvocation: number;
  currentLine: number;
  record(bufferId: string, offset: number, size: number, kind: 'read' | 'write', atomic: boolean): void;
}

interface TrackedLike {
  _bufferId: string;
  buffer: ArrayBuffer;
  offset: number;
  typeInfo: { size: number };
}

const patch = {
  invocation: 0,
  tracker: null as TrackerLike | null,
  /** Every tracked variable of the dispatch (bindings and workgroup variables). */
  tracked: [] as TrackedLike[],
  /** Names of the dispatch's bindings; every other tracked variable is workgroup memory. */
  bindings: new Set<string>(),
  workgroup: -1,
  /** Names of the storage buffers of the dispatch being checked (null: not logging). */
  storage: null as Set<string> | null,
  /** Uniform and read-only buffers: they cannot take part in a race; not recorded at all. */
  readOnly: new Set<string>(),
  log: new Map<string, Map<number, LoggedAccess[]>>(),
};

let patched = false;

function installPatches(): void {
  if (patched) return;
  patched = true;
  const trackerProto = WR.MemoryTracker.prototype as unknown as TrackerLike;
  // Every `this.x = …` of the constructor and the scheduler goes through these accessors.
  const phases = new WeakMap<object, unknown>();
  Object.defineProperty(trackerProto, '_phase', {
    configurable: true,
    get(this: object) {
      return phases.get(this);
    },
    set(this: TrackerLike, v: unknown) {
      // Set once, in the constructor: detectRaces makes one tracker per workgroup, in order.
      if (!phases.has(this)) {
        patch.tracker = this;
        patch.workgroup++;
        // Bug 5: a new workgroup starts with zeroed workgroup memory.
        for (const t of patch.tracked) {
          if (!patch.bindings.has(t._bufferId)) new Uint8Array(t.buffer, t.offset, t.typeInfo.size).fill(0);
        }
      }
      phases.set(this, v);
    },
  });
  Object.defineProperty(trackerProto, 'currentInvocation', {
    configurable: true,
    get: () => patch.invocation,
    set: (v: number) => {
      patch.invocation = v;
    },
  });
  const record = trackerProto.record;
  trackerProto.record = function (this: TrackerLike, bufferId, offset, size, kind, atomic) {
    if (patch.readOnly.has(bufferId)) return;
    record.call(this, bufferId, offset, size, kind, atomic);
    if (!patch.storage?.has(bufferId)) return;
    let words = patch.log.get(bufferId);
    if (!words) patch.log.set(bufferId, (words = new Map()));
    const entry = { workgroup: patch.workgroup, invocation: patch.invocation, line: this.currentLine, write: kind === 'write' };
    for (let w = Math.floor(offset / 4); w < Math.ceil((offset + size) / 4); w++) {
      const list = words.get(w);
      if (list) list.push(entry);
      else words.set(w, [entry]);
    }
  };
  // Bug 2: every tracked buffer reports to the tracker of the workgroup being run.
  Object.defineProperty(WR.TrackedTypedData.prototype, '_tracker', {
    configurable: true,
    get: () => patch.tracker,
    set(this: TrackedLike) {
      patch.tracked.push(this); // set once, in the constructor
    },
  });
  // Bug 3: `v * M`.
  type Exec = {
    evalExpression(node: unknown, context: unknown): unknown;
    _evalBinaryOpValue(node: { operator: string; left: unknown; right: unknown }, context: unknown): unknown;
  };
  const execProto = WR.WgslExec.prototype as unknown as Exec;
  const binaryOp = execProto._evalBinaryOpValue;
  execProto._evalBinaryOpValue = function (this: Exec, node, context) {
    if (node.operator !== '*') return binaryOp.call(this, node, context);
    const left = this.evalExpression(node.left, context);
    const right = this.evalExpression(node.right, context);
    if (left instanceof WR.VectorData && right instanceof WR.MatrixData) return rowTimesMatrix(left, right);
    // Anything else: the library's own code, on the operands already evaluated (once).
    const pending = [left, right];
    const evaluate = this.evalExpression;
    this.evalExpression = (n: unknown, c: unknown) => (pending.length > 0 && n === (pending.length === 2 ? node.left : node.right) ? pending.shift() : evaluate.call(this, n, c));
    try {
      return binaryOp.call(this, node, context);
    } finally {
      delete (this as Partial<Exec>).evalExpression;
    }
  };
  // Bug 1: a call's cached return value, per invocation.
  const returns = new WeakMap<object, Map<number, unknown>>();
  Object.defineProperty(WR.CallExpr.prototype, 'cachedReturnValue', {
    configurable: true,
    get(this: object) {
      return returns.get(this)?.get(patch.invocation) ?? null;
    },
    set(this: object, v: unknown) {
      let perInvocation = returns.get(this);
      if (!perInvocation) returns.set(this, (perInvocation = new Map()));
      perInvocation.set(patch.invocation, v);
    },
  });
}

/** WGSL `v * M` (row vector times matrix): component c is dot(v, column c of M). */
function rowTimesMatrix(v: InstanceType<typeof WR.VectorData>, m: InstanceType<typeof WR.MatrixData>) {
  const shape = /mat(\d)x(\d)/.exec(m.typeInfo.getTypeName());
  if (!shape || Number(shape[2]) !== v.data.length) throw new Error(`vector × ${m.typeInfo.getTypeName()}: shapes do not match`);
  const cols = Number(shape[1]);
  const rows = Number(shape[2]);
  if (cols !== rows) throw new Error(`vector × ${m.typeInfo.getTypeName()}: only square matrices are patched`);
  const out = new Array<number>(cols);
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += v.data[r]! * m.data[c * rows + r]!;
    out[c] = sum;
  }
  return new WR.VectorData(out, v.typeInfo);
}

function crossWorkgroupRaces(): CrossWorkgroupRace[] {
  const found: CrossWorkgroupRace[] = [];
  for (const [bufferId, words] of patch.log) {
    for (const [word, accesses] of words) {
      const writer = accesses.find((a) => a.write);
      if (!writer) continue;
      const other = accesses.find((a) => a.workgroup !== writer.workgroup);
      if (!other) continue;
      found.push({
        bufferId,
        byte: word * 4,
        message:
          `Cross-workgroup race on '${bufferId}' byte ${word * 4}: workgroup ${writer.workgroup} invocation ` +
          `${writer.invocation} (write, line ${writer.line}) and workgroup ${other.workgroup} invocation ` +
          `${other.invocation} (${other.write ? 'write' : 'read'}, line ${other.line})`,
      });
    }
  }
  return found;
}

/** Bug 4: put a no-op statement in front of every barrier that opens a block. */
export function syncFirstBarriers(code: string): string {
  return code.replace(/\{((?:\s|\/\/[^\n]*\n)*)(workgroupBarrier|storageBarrier)\s*\(/g, '{ let race_detector_step = 0u;$1$2(');
}

/** A bound buffer: the typed array is read and written in place. */
export type Bound = Uint32Array | Float32Array;

/**
 * Run `main` of `code` over `grid` workgroups with group-0 buffers `buffers[binding]`
 * (`bindings[binding]` says which are uniform), every invocation of a workgroup in lockstep.
 * The typed arrays are updated in place (they must own their whole ArrayBuffer).
 */
export function detectRaces(
  code: string,
  bindings: readonly GPUBufferBindingType[],
  buffers: readonly Bound[],
  grid: readonly number[],
): RaceReport {
  installPatches();
  if (buffers.length !== bindings.length) throw new Error(`${bindings.length} bindings but ${buffers.length} buffers`);
  const group: Record<string, unknown> = {};
  buffers.forEach((b, i) => {
    if (b.byteOffset !== 0 || b.byteLength !== b.buffer.byteLength) throw new Error(`binding ${i}: the array must own its buffer`);
    group[i] = bindings[i] === 'uniform' ? { uniform: b } : b;
  });
  const reflect = new WgslReflect(code);
  const vars = [...reflect.uniforms, ...reflect.storage].filter((v) => v.group === 0);
  patch.readOnly = new Set(vars.filter((v) => v.resourceType === WR.ResourceType.Uniform || v.access !== 'read_write').map((v) => v.name));
  patch.storage = new Set(vars.filter((v) => v.resourceType === WR.ResourceType.Storage).map((v) => v.name));
  patch.bindings = new Set(vars.map((v) => v.name));
  patch.tracked = [];
  patch.log = new Map();
  patch.workgroup = -1;
  try {
    const r = WR.detectRaces(syncFirstBarriers(code), 'main', [...grid], { 0: group });
    return {
      races: r.races.map(({ bufferId, byte, message }) => ({ bufferId, byte, message })),
      crossWorkgroup: crossWorkgroupRaces(),
      errors: r.errors,
    };
  } finally {
    patch.storage = null;
    patch.readOnly = new Set();
    patch.bindings = new Set();
    patch.tracked = [];
    patch.log = new Map();
  }
}

// ─── The pipeline, pass by pass, as src/contrastive-loss.ts encodes it ─────────────────────────

/** One pass's report, named. */
export interface PassReport extends RaceReport {
  kernel: string;
  grid: number[];
  ms: number;
}

/** Outputs of the whole pipeline, and every pass's report. */
export interface PipelineResult {
  loss: number;
  perAnchor: Float32Array;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
  /** The workspace buffers between passes, for localizing a mismatch. */
  workspace: Record<'U' | 'norms' | 'cosPos' | 'lse' | 'lse2' | 'coefC' | 'posCoef' | 'gU', Float32Array>;
  passes: PassReport[];
}

/** A fresh array of `length` NaNs: whatever a kernel leaves unwritten shows. */
function poisoned(length: number): Float32Array {
  return new Float32Array(length).fill(NaN);
}

/** Everything the passes share: the dispatcher's workspace, constants and grids. */
interface Context {
  k: LoadedKernels;
  n: number;
  d: number;
  d4: number;
  rows: number;
  normParams: Uint32Array;
  tileParams: Uint32Array;
  finalParams: Uint32Array;
  rowGrid: [number, number];
  pairGrid: [number, number];
  upstream: Float32Array;
  /** Kernel sources may be replaced (the detector's own tests break one). */
  source: (key: KernelKey) => string;
  passes: PassReport[];
}

function dispatch(ctx: Context, key: KernelKey, buffers: Bound[], grid: [number, number]): void {
  const spec = ctx.k.KERNELS[key];
  const t0 = performance.now();
  let report: RaceReport;
  try {
    report = detectRaces(ctx.source(key), spec.bindings, buffers, grid);
  } catch (e) {
    throw new Error(`${spec.name} (grid ${grid.join('×')}) failed in the interpreter: ${(e as Error).message}`, { cause: e });
  }
  ctx.passes.push({ kernel: spec.name, grid, ms: performance.now() - t0, ...report });
}

/** normalize_rows: U (2N×D4 vec4), the row norms and cos_pos (one workgroup per pair of rows). */
function normalizeRowsPass(ctx: Context, z1: Float32Array, z2: Float32Array) {
  const U = poisoned(ctx.rows * ctx.d4 * 4);
  const norms = poisoned(ctx.rows);
  const cosPos = poisoned(ctx.rows);
  dispatch(ctx, 'normalizeRows', [ctx.normParams, z1, z2, U, norms, cosPos], ctx.pairGrid);
  return { U, norms, cosPos };
}

/** anchor_stats: lse, and lse2 for dualtemp. */
function anchorStatsPass(ctx: Context, U: Float32Array) {
  const lse = poisoned(ctx.rows);
  const lse2 = poisoned(ctx.rows);
  dispatch(ctx, 'anchorStats', [ctx.tileParams, U, lse, lse2], [Math.ceil(ctx.rows / ctx.k.TILES.statsRows), 1]);
  return { lse, lse2 };
}

/** loss_finalize: the loss, ℓ_a, and the backward coefficients. */
function lossFinalizePass(ctx: Context, lse: Float32Array, lse2: Float32Array, cosPos: Float32Array) {
  const loss = poisoned(1);
  const perAnchor = poisoned(ctx.rows);
  const coefC = poisoned(ctx.rows);
  const posCoef = poisoned(ctx.rows);
  dispatch(ctx, 'lossFinalize', [ctx.finalParams, lse, lse2, cosPos, ctx.upstream, loss, perAnchor, coefC, posCoef], [1, 1]);
  return { loss, perAnchor, coefC, posCoef };
}

/** grad_rows: ∂L/∂U. */
function gradRowsPass(ctx: Context, U: Float32Array, lse: Float32Array, coefC: Float32Array, posCoef: Float32Array) {
  const gU = poisoned(ctx.rows * ctx.d4 * 4);
  const { gradRows, gradVec4Cols } = ctx.k.TILES;
  dispatch(ctx, 'gradRows', [ctx.tileParams, U, lse, coefC, posCoef, gU], [Math.ceil(ctx.rows / gradRows), Math.ceil(ctx.d4 / gradVec4Cols)]);
  return gU;
}

/** normalize_backward: ∂L/∂z1, ∂L/∂z2. */
function normalizeBackwardPass(ctx: Context, U: Float32Array, gU: Float32Array, norms: Float32Array) {
  const gradZ1 = poisoned(ctx.n * ctx.d);
  const gradZ2 = poisoned(ctx.n * ctx.d);
  dispatch(ctx, 'normalizeBackward', [ctx.normParams, U, gU, norms, gradZ1, gradZ2], ctx.rowGrid);
  return { gradZ1, gradZ2 };
}

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  /** ∂out/∂L (default 1). */
  gradScale?: number;
  /** Replace a kernel's WGSL (to check that the detector sees a broken one). */
  sources?: Partial<Record<KernelKey, string>>;
}

async function context(n: number, d: number, options: LossOptions, pipelineOptions: PipelineOptions): Promise<Context> {
  const k = await loadKernels();
  const opts = resolveOptions(options);
  const d4 = Math.ceil(d / 4);
  const rows = 2 * n;
  const slice = Math.min(rows, k.TILES.rowsPerSlice);
  return {
    k,
    n,
    d,
    d4,
    rows,
    normParams: new Uint32Array([n, d, d4, slice]),
    tileParams: k.packTileParams(n, d4, opts),
    finalParams: k.packFinalParams(n, opts),
    rowGrid: [slice, Math.ceil(rows / slice)],
    pairGrid: [Math.min(n, slice), Math.ceil(n / slice)],
    upstream: new Float32Array([pipelineOptions.gradScale ?? 1]),
    source: (key) => pipelineOptions.sources?.[key] ?? k.KERNELS[key].source,
    passes: [],
  };
}

/** The passes in dispatch order; stops after `until` (then returns null). */
function execute(ctx: Context, z1: Float32Array, z2: Float32Array, until?: KernelKey): PipelineResult | null {
  const { U, norms, cosPos } = normalizeRowsPass(ctx, Float32Array.from(z1), Float32Array.from(z2));
  if (until === 'normalizeRows') return null;
  const { lse, lse2 } = anchorStatsPass(ctx, U);
  if (until === 'anchorStats') return null;
  const fin = lossFinalizePass(ctx, lse, lse2, cosPos);
  if (until === 'lossFinalize') return null;
  const gU = gradRowsPass(ctx, U, lse, fin.coefC, fin.posCoef);
  if (until === 'gradRows') return null;
  const { gradZ1, gradZ2 } = normalizeBackwardPass(ctx, U, gU, norms);
  return {
    loss: fin.loss[0]!,
    perAnchor: fin.perAnchor,
    gradZ1,
    gradZ2,
    workspace: { U, norms, cosPos, lse, lse2, coefC: fin.coefC, posCoef: fin.posCoef, gU },
    passes: ctx.passes,
  };
}

/**
 * Run the five passes of the fused loss (forward and backward) on the CPU under the race
 * detector, with the dispatcher's parameters, buffers and grids; return the outputs, the
 * workspace and each pass's report.
 */
export async function runPipeline(
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: LossOptions,
  pipelineOptions: PipelineOptions = {},
): Promise<PipelineResult> {
  return execute(await context(n, d, options, pipelineOptions), z1, z2)!;
}

/** Like {@link runPipeline}, but stop after kernel `until`; return the reports of the passes run. */
export async function runPassesUntil(
  until: KernelKey,
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: LossOptions,
  pipelineOptions: PipelineOptions = {},
): Promise<PassReport[]> {
  const ctx = await context(n, d, options, pipelineOptions);
  execute(ctx, z1, z2, until);
  return ctx.passes;
}
