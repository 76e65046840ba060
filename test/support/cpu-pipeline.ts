/**
 * The fused pipeline of src/contrastive-loss.ts run on the CPU under wgsl_reflect's race
 * detector: every invocation of every workgroup executes in lockstep in an interpreter, each
 * pass gets the same parameters, buffers and grid as the dispatcher gives it on the GPU, and
 * the passes are chained through ordinary typed arrays (normalize_rows → [normalize_bank] →
 * anchor_stats → loss_finalize → grad_rows → normalize_backward).
 *
 * Three parts:
 *   - {@link loadKernels}: KERNELS and the dispatcher's plan (src/plan.ts), bundled by esbuild
 *     with the package's own `.wgsl` text loader (Vite cannot import `.wgsl` as text);
 *   - {@link detectRaces}: wgsl_reflect's detector with five interpreter bugs patched and a
 *     cross-workgroup storage check added (see there);
 *   - {@link runPipeline}: the plan's passes in order, each binding resolved to a typed array,
 *     so the CPU pipeline runs exactly the sequence, uniforms and grids the dispatcher encodes.
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
type Packers = Pick<typeof import('../../src/plan.js'), 'planLoss'>;
import type { BindingRef, InputName, LossPlan, OutputName, WorkspaceName } from '../../src/plan.js';

// ─── KERNELS, bundled as the package bundles them ────────────────────────────────────────────

/** What src/kernels.ts and src/plan.ts export that the CPU pipeline needs (the plan decides every pass). */
export interface LoadedKernels extends Packers {
  KERNELS: KernelTable;
  TILES: Tiles;
}

let loaded: Promise<LoadedKernels> | undefined;

/** KERNELS, TILES and planLoss, bundled by esbuild with `.wgsl` as text. */
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
          "export { planLoss } from './src/plan.ts';\n",
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

// ─── The pipeline, as src/plan.ts plans it and src/contrastive-loss.ts encodes it ───────────────

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
  /** ∂L/∂τ, when the options ask for it. */
  gradTemperature?: number;
  /** The four diagnostics, when the options ask for them. */
  diagnostics?: Float32Array;
  /** ∂L/∂b (siglip), when the options ask for it. */
  gradBias?: number;
  /** The plan's workspace buffers after the passes, for localizing a mismatch. */
  workspace: Record<WorkspaceName, Float32Array>;
  /** The plan that was run. */
  plan: LossPlan;
  passes: PassReport[];
}

/** A fresh array of `length` NaNs: whatever a kernel leaves unwritten shows. */
function poisoned(length: number): Float32Array {
  return new Float32Array(length).fill(NaN);
}

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  /** ∂out/∂L (default 1). */
  gradScale?: number;
  /** Replace a kernel's WGSL (to check that the detector sees a broken one). */
  sources?: Partial<Record<KernelKey, string>>;
}

/**
 * The planned passes in order, every binding an ordinary typed array (workspace and outputs
 * start as NaN); stops after the first pass of kernel `until`.
 */
async function execute(
  z1: Float32Array,
  z2: Float32Array,
  n: number,
  d: number,
  options: LossOptions,
  pipelineOptions: PipelineOptions,
  until?: KernelKey,
) {
  const k = await loadKernels();
  const opts = resolveOptions(options, d);
  const plan = k.planLoss(n, d, opts, true);
  const inputs: Record<InputName, Bound> = {
    z1: Float32Array.from(z1),
    z2: Float32Array.from(z2),
    bank: options.bank && ArrayBuffer.isView(options.bank) ? Float32Array.from(options.bank) : new Float32Array(1),
    // SupCon's i32 labels, bound by their bits (the interpreter reads array<i32> from the bytes).
    labels: options.labels instanceof Int32Array ? new Uint32Array(Int32Array.from(options.labels).buffer) : new Uint32Array(1),
  };
  const workspace = Object.fromEntries(
    Object.entries(plan.workspaceBytes).map(([name, bytes]) => [name, poisoned((bytes as number) / 4)]),
  ) as Record<WorkspaceName, Float32Array>;
  const outputs = Object.fromEntries(plan.outputs.map((name) => [name, poisoned(plan.outputBytes[name] / 4)])) as Partial<
    Record<OutputName, Float32Array>
  >;
  const upstream = new Float32Array([pipelineOptions.gradScale ?? 1]);
  const resolve = (ref: BindingRef): Bound => {
    switch (ref.kind) {
      case 'input':
        return inputs[ref.name];
      case 'output':
        return outputs[ref.name]!;
      case 'workspace':
        return workspace[ref.name];
      case 'constant':
        return Uint32Array.from(plan.constants[ref.name]!);
      case 'upstream':
        return upstream;
    }
  };
  const passes: PassReport[] = [];
  for (const pass of plan.passes) {
    const spec = k.KERNELS[pass.kernel];
    const t0 = performance.now();
    let report: RaceReport;
    try {
      report = detectRaces(pipelineOptions.sources?.[pass.kernel] ?? spec.source, spec.bindings, pass.bindings.map(resolve), pass.grid);
    } catch (e) {
      throw new Error(`${spec.name} (grid ${pass.grid.join('×')}) failed in the interpreter: ${(e as Error).message}`, { cause: e });
    }
    passes.push({ kernel: spec.name, grid: pass.grid, ms: performance.now() - t0, ...report });
    if (pass.kernel === until) break;
  }
  return { plan, workspace, outputs, passes };
}

/**
 * Run the planned passes of the fused loss (forward and backward) on the CPU under the race
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
  const { plan, workspace, outputs, passes } = await execute(z1, z2, n, d, options, pipelineOptions);
  return {
    loss: outputs.loss![0]!,
    perAnchor: outputs.perAnchor!,
    gradZ1: outputs.gradZ1!,
    gradZ2: outputs.gradZ2!,
    gradTemperature: outputs.gradTemperature?.[0],
    diagnostics: outputs.diagnostics,
    gradBias: outputs.gradBias?.[0],
    workspace,
    plan,
    passes,
  };
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
  return (await execute(z1, z2, n, d, options, pipelineOptions, until)).passes;
}
