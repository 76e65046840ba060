/**
 * Loss names, options and their defaults, as fixed by docs/FORMULAS.md. Shared by the CPU reference,
 * the GPU dispatcher and the CLI so that every path validates and defaults the same way.
 */

/** The first two waves' losses (the softmax-over-candidates family: candidate sets, a bank, diagnostics). */
export type FusedLossName = 'ntxent' | 'dcl' | 'dclw' | 'flatnce' | 'dualtemp';

/**
 * The third-wave losses (docs/FORMULAS.md, "SupCon and SigLIP"): `supcon` with labels, `siglip`
 * with a bias. Every path takes them (reference, dispatcher, tfjs op, jax-js step, both plain-ops
 * baselines, the CLI); they refuse the first waves' candidate sets, bank and diagnostics.
 */
export type ThirdWaveLossName = 'supcon' | 'siglip';

/** Every loss name the option schema accepts. */
export type LossName = FusedLossName | ThirdWaveLossName;

/** The first two waves' losses, in a stable order (tables, CLIs, tests). */
export const LOSS_NAMES: readonly LossName[] = ['ntxent', 'dcl', 'dclw', 'flatnce', 'dualtemp'];

/** The third-wave losses, in a stable order. */
export const THIRD_WAVE_LOSS_NAMES: readonly ThirdWaveLossName[] = ['supcon', 'siglip'];

/** Every loss, in a stable order: what the option schema, the reference and every path take. */
export const REFERENCE_LOSS_NAMES: readonly LossName[] = [...LOSS_NAMES, ...THIRD_WAVE_LOSS_NAMES];

/** Whether `loss` is one of the first two waves' losses ({@link LOSS_NAMES}). */
export function isFusedLoss(loss: LossName): loss is FusedLossName {
  return (LOSS_NAMES as readonly string[]).includes(loss);
}

/** Options a caller may pass; anything left out takes the loss's default. */
export interface LossOptions {
  /** Which loss. */
  loss: LossName;
  /** Temperature τ > 0. Default 0.5 for `ntxent`, 0.1 for the others. */
  temperature?: number;
  /** DCLW von Mises-Fisher scale σ > 0. Default 0.5. Only read by `dclw`. */
  sigma?: number;
  /** DCLW: let the gradient flow through the weights w. Default false (detached, as in lightly). */
  weightGrad?: boolean;
  /** Dual temperature: ratio m > 0 of the second temperature (τ·m). Default 10. Only read by `dualtemp`. */
  dtM?: number;
  /**
   * Candidate set (docs/FORMULAS.md "Candidate sets"): `'all'` (both views, 2N−2 negatives per anchor) or
   * `'cross'` (the other view only, N−1: with `ntxent` this is CLIP's loss). Default `'all'`,
   * except `dualtemp`, which is cross-view by definition (`'cross'` is its default and only value).
   * Not combinable with `bank`.
   */
  negatives?: NegativesMode;
  /** Also return `∂L/∂τ` (one number), through the same detachments as the other gradients. Default false. */
  gradTemperature?: boolean;
  /** Also return the four {@link Diagnostics} (order {@link DIAGNOSTIC_NAMES}). Default false. */
  diagnostics?: boolean;
  /** Queue (memory-bank) negatives, K×D rows (docs/FORMULAS.md "Queue negatives"); no gradient to the bank. */
  bank?: BankInput;
  /**
   * `supcon` only, and required there: one class label per sample (N values; both views share
   * it). Equal label ⇔ same class; any int32 values (negative, sparse, large). An `Int32Array`
   * on the array path; the GPU path will take a u32/i32 buffer of N values.
   */
  labels?: LabelsInput;
  /** `supcon` only: τ_base of the reported loss's factor τ/τ_base (SupContrast). Default 0.07. */
  baseTemperature?: number;
  /** `siglip` only: the logit bias b of `l_ij = u1_i·u2_j/τ + b`. Default −10 (open_clip's init). */
  bias?: number;
  /** `siglip` only: also return `∂L/∂b` (one number). Default false. */
  gradBias?: boolean;
}

/** SupCon's class labels: N int32 values, or (GPU path) a buffer holding N u32/i32 values. */
export type LabelsInput = Int32Array | GPUBuffer;

/** The candidate sets of docs/FORMULAS.md: candidate sets, bank, temperature gradient, diagnostics. */
export type NegativesMode = 'all' | 'cross';

/**
 * A bank of K negatives, row-major K×D: a `Float32Array`/`Float64Array` (reference; `compute()`
 * takes a Float32Array) or, for `encode()`, `{ buffer, k }` (f32 K×D, usage STORAGE, never written).
 */
export type BankInput = Float32Array | Float64Array | GpuBank;

/** A bank resident on the GPU: `k` rows of D f32 values in `buffer` (usage STORAGE; read only). */
export interface GpuBank {
  /** The K×D f32 rows, row-major. */
  buffer: GPUBuffer;
  /** K, the number of rows (≥ 1). */
  k: number;
}

/** Scalars about a batch, from the loss's own passes (docs/FORMULAS.md "Diagnostics"). */
export interface Diagnostics {
  /** `mean_i ‖u1_i − u2_i‖²`. */
  alignment: number;
  /** `½ Σ_views log mean_{i≠j} e^{−2‖v_i − v_j‖²}` over the batch views (NaN for N = 1). */
  uniformity: number;
  /** `mean_a σ(s⁺_a − lse_a)`. */
  positiveProbability: number;
  /** `1 − positiveProbability`. */
  npcMultiplier: number;
}

/** The names of the {@link Diagnostics}, in the order the GPU writes them (4 f32). */
export const DIAGNOSTIC_NAMES = ['alignment', 'uniformity', 'positiveProbability', 'npcMultiplier'] as const;

/** Whether `bank` is a GPU-resident bank (`{ buffer, k }`) rather than an array of values. */
export function isGpuBank(bank: BankInput): bank is GpuBank {
  return !ArrayBuffer.isView(bank);
}

/** Validate a bank and return K ≥ 1 (an array bank needs `d`: its length must be a positive multiple of D, every value finite). */
export function checkBank(bank: unknown, d?: number): number {
  if (bank instanceof Float32Array || bank instanceof Float64Array) {
    if (d === undefined) throw new TypeError('bank: D is needed to split an array bank into rows');
    if (bank.length === 0 || bank.length % d !== 0) {
      throw new RangeError(`bank has ${bank.length} values, not a positive multiple of D = ${d} (a bank is K×D, row-major, K ≥ 1)`);
    }
    for (let i = 0; i < bank.length; i++) {
      if (!Number.isFinite(bank[i])) throw new RangeError(`bank has a non-finite value ${bank[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
    }
    return bank.length / d;
  }
  if (bank === null || typeof bank !== 'object' || ArrayBuffer.isView(bank) || !('buffer' in bank) || !('k' in bank)) {
    throw new TypeError('bank must be a Float32Array or Float64Array (K×D values) or { buffer: GPUBuffer, k: number }');
  }
  const k = (bank as GpuBank).k;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`bank.k must be an integer ≥ 1 (K = 0 is no bank: leave bank out), got ${k}`);
  return k;
}

/** Options with every default filled in and validated. */
export interface ResolvedLossOptions {
  /** Which loss. */
  loss: LossName;
  /** τ. */
  temperature: number;
  /** DCLW's σ. */
  sigma: number;
  /** DCLW: gradient through the weights. */
  weightGrad: boolean;
  /** Dual temperature's m. */
  dtM: number;
  /** The candidate set (always `'cross'` for `dualtemp`; not read in bank form). */
  negatives: NegativesMode;
  gradTemperature: boolean;
  diagnostics: boolean;
  /** K, the number of bank rows; 0 when there is no bank. */
  bankRows: number;
  /** `supcon`: τ_base (the reported loss is scaled by τ/τ_base). */
  baseTemperature: number;
  /** `siglip`: the logit bias b. */
  bias: number;
  /** `siglip`: also return ∂L/∂b. */
  gradBias: boolean;
  /** Whether `labels` were given (checked against N where N is known: the reference, validate.ts). */
  hasLabels: boolean;
}

/** Default temperature per loss (docs/FORMULAS.md). */
export const DEFAULT_TEMPERATURE: Readonly<Record<LossName, number>> = {
  ntxent: 0.5,
  dcl: 0.1,
  dclw: 0.1,
  flatnce: 0.1,
  dualtemp: 0.1,
  supcon: 0.07,
  siglip: 0.1,
};
/** Default SupCon τ_base (SupContrast's; equal to SupCon's default τ, so the factor τ/τ_base is 1). */
export const DEFAULT_BASE_TEMPERATURE = 0.07;
/** Default SigLIP bias b (open_clip's `init_logit_bias`). */
export const DEFAULT_SIGLIP_BIAS = -10;
/**
 * Range of the SigLIP bias: every logit `u1·u2/τ + b` is then at most 2·1e12 in size, far inside
 * f32's range, as every other scale here.
 */
export const BIAS_RANGE = { min: -1e12, max: 1e12 } as const;
/** Default DCLW σ. */
export const DEFAULT_SIGMA = 0.5;
/** Default dual-temperature ratio m. */
export const DEFAULT_DT_M = 10;

/**
 * Range of τ, σ and τ·m: with every positive ≤ 1 in size, logits are ≤ 1/τ = 1e12, the
 * largest gradient coefficient (DCLW weightGrad, 1/(τσ)) is ≤ 1e24, and even through the
 * normalization of a near-zero row (÷1e-12) every value stays far inside f32's 3.4e38; at the
 * top, 1/(2Nτ) stays a normal f32 for any N a device can hold.
 */
export const SCALE_RANGE = { min: 1e-12, max: 1e12 } as const;
const SCALE_WHY = 'so that every reciprocal, logit and gradient stays finite in f32';

/** A bound as people write it: 1e-12, 0.5, 1e+12. */
const fmt = (v: number) => (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4) ? v.toExponential() : String(v));

/** The loss's default for a number or choice option. */
type PerLoss<T> = T | ((loss: LossName) => T);

/** A finite number in [min, max]. */
export interface NumberOptionSpec {
  type: 'number';
  /** Smallest allowed value (inclusive). */
  min: number;
  /** Largest allowed value (inclusive). */
  max: number;
  /** Why the range is what it is (appended to the error). */
  why?: string;
  /** The value when absent (per loss when a function). */
  default: PerLoss<number>;
}

/** A boolean (no truthy strings). */
export interface BooleanOptionSpec {
  type: 'boolean';
  /** The value when absent. */
  default: boolean;
}

/** One of a fixed set of strings. */
export interface ChoiceOptionSpec {
  type: 'choice';
  /** The allowed values. */
  values: readonly string[];
  /** Absent: the option is required. */
  default?: PerLoss<string>;
}

/** Anything else: `check` validates a given value (throws) and returns what to store. */
export interface CustomOptionSpec {
  type: 'custom';
  /** The value stored when the option is absent. */
  default: unknown;
  /** Validate a given value (throw a TypeError/RangeError naming `name`) and return what to store. */
  check: (value: unknown, name: string) => unknown;
}

/** How one option is typed, bounded and defaulted. */
export type OptionSpec = NumberOptionSpec | BooleanOptionSpec | ChoiceOptionSpec | CustomOptionSpec;

/**
 * The option schema: one entry per key of {@link LossOptions}. {@link resolveOptions}, the CLI
 * and the docs read it; a new option is one entry here (plus, when it constrains another
 * option, one function in {@link OPTION_RULES}).
 */
export const OPTION_SCHEMA: Readonly<Record<string, OptionSpec>> = {
  loss: { type: 'choice', values: REFERENCE_LOSS_NAMES },
  temperature: { type: 'number', ...SCALE_RANGE, why: SCALE_WHY, default: (loss) => DEFAULT_TEMPERATURE[loss] },
  sigma: { type: 'number', ...SCALE_RANGE, why: SCALE_WHY, default: DEFAULT_SIGMA },
  weightGrad: { type: 'boolean', default: false },
  // m's own range is wide; what the kernels use is τ·m, bounded by a rule below.
  dtM: { type: 'number', min: SCALE_RANGE.min / SCALE_RANGE.max, max: SCALE_RANGE.max / SCALE_RANGE.min, default: DEFAULT_DT_M },
  negatives: { type: 'choice', values: ['all', 'cross'], default: (loss) => (loss === 'dualtemp' ? 'cross' : 'all') },
  gradTemperature: { type: 'boolean', default: false },
  diagnostics: { type: 'boolean', default: false },
  baseTemperature: { type: 'number', ...SCALE_RANGE, why: SCALE_WHY, default: DEFAULT_BASE_TEMPERATURE },
  gradBias: { type: 'boolean', default: false },
  bias: { type: 'number', ...BIAS_RANGE, why: 'so that every logit stays finite in f32', default: (loss) => (loss === 'siglip' ? DEFAULT_SIGLIP_BIAS : 0) },
};

/**
 * Keys a caller may pass besides the schema's: `bank` is checked by {@link checkBank} (its row
 * count needs D) and resolved to `bankRows`; `labels` is checked by {@link checkLabelsType} here
 * and against N where N is known (validate.ts `checkLabels`), and resolved to `hasLabels`.
 */
const EXTRA_OPTION_KEYS = ['bank', 'labels'] as const;

/** Whether `labels` is a GPU buffer rather than an array of values. */
export function isGpuLabels(labels: LabelsInput): labels is GPUBuffer {
  return !ArrayBuffer.isView(labels);
}

/** `labels` is an Int32Array or a GPUBuffer (its length is checked where N is known). */
export function checkLabelsType(labels: unknown): void {
  if (labels instanceof Int32Array) return;
  const isBuffer = labels !== null && typeof labels === 'object' && !ArrayBuffer.isView(labels) && typeof (labels as GPUBuffer).size === 'number' && typeof (labels as GPUBuffer).usage === 'number';
  if (isBuffer) return;
  const got = labels === null ? 'null' : typeof labels !== 'object' ? typeof labels : ((labels as object).constructor?.name ?? 'object');
  throw new TypeError(`labels must be an Int32Array of N class labels (convert with Int32Array.from(...)) or a GPUBuffer of N u32/i32 values, got ${got}`);
}

/**
 * The options each third-wave loss does not read (docs/FORMULAS.md "SupCon and SigLIP"): giving one is an error,
 * not a silent no-op. `diagnostics` is among them: the positive's probability is defined for
 * losses with one positive per anchor in a softmax, which neither has.
 */
const NOT_READ_BY: Readonly<Record<ThirdWaveLossName, readonly (keyof LossOptions)[]>> = {
  supcon: ['bank', 'weightGrad', 'dtM', 'sigma', 'diagnostics'],
  siglip: ['negatives', 'bank', 'weightGrad', 'dtM', 'sigma', 'diagnostics'],
};
/** Options only one loss reads (an error with any other; checked before {@link NOT_READ_BY}). */
const ONLY_READ_BY: Readonly<Partial<Record<keyof LossOptions, ThirdWaveLossName>>> = { labels: 'supcon', baseTemperature: 'supcon', bias: 'siglip', gradBias: 'siglip' };

/** Constraints between options, checked after every option on its own; each throws on a violation. */
export const OPTION_RULES: readonly ((o: ResolvedLossOptions, given: LossOptions) => void)[] = [
  (o, given) => {
    for (const [key, loss] of Object.entries(ONLY_READ_BY)) {
      if (o.loss !== loss && (given as unknown as Record<string, unknown>)[key] !== undefined) {
        throw new RangeError(`${key} applies to ${loss} only, not to ${o.loss}: leave it out`);
      }
    }
    if (o.loss === 'supcon' || o.loss === 'siglip') {
      for (const key of NOT_READ_BY[o.loss]) {
        if (given[key] !== undefined) throw new RangeError(`${key} does not apply to ${o.loss}: leave it out (docs/FORMULAS.md "SupCon and SigLIP")`);
      }
    }
  },
  (o, given) => {
    if (o.loss === 'supcon' && given.negatives === 'cross') {
      throw new RangeError(`negatives: 'cross' does not apply to supcon, whose denominator is every other row of both views ('all')`);
    }
    if (o.loss === 'supcon' && given.labels === undefined) {
      throw new TypeError('supcon needs labels: one class label per sample, an Int32Array of N values (both views share it)');
    }
  },
  (o, given) => {
    if (o.loss === 'dualtemp' && given.negatives === 'all') {
      throw new RangeError(`negatives: 'all' is not defined for dualtemp, which is cross-view by definition ('cross' is its only value)`);
    }
  },
  (o, given) => {
    if (o.loss !== 'dualtemp' && given.negatives === 'cross' && o.bankRows > 0) {
      throw new RangeError(`negatives: 'cross' cannot be combined with bank: a bank replaces the in-batch candidates`);
    }
  },
  (o) => {
    const t2 = o.temperature * o.dtM;
    if (o.loss === 'dualtemp' && !(t2 >= SCALE_RANGE.min && t2 <= SCALE_RANGE.max)) {
      throw new RangeError(
        `dualtemp's second temperature τ·m = ${o.temperature}·${o.dtM} = ${fmt(Number(t2.toPrecision(6)))} must be within ` +
          `[${fmt(SCALE_RANGE.min)}, ${fmt(SCALE_RANGE.max)}] (${SCALE_WHY})`,
      );
    }
  },
];

/** Edit distance (insertions, deletions, substitutions), for typo hints. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The valid name `name` is most likely a typo of, if any (case, `_`/`-` and ≤ 2 edits forgiven). */
export function nearestName(name: string, valid: readonly string[]): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const v of valid) {
    const dist = fold(v) === fold(name) ? 0 : editDistance(fold(name), fold(v));
    if (dist < bestDistance) [best, bestDistance] = [v, dist];
  }
  return bestDistance <= Math.min(2, Math.floor(fold(name).length / 3)) ? best : undefined;
}

/**
 * Reject keys of `obj` outside `valid` (a TypeError listing the valid ones, and the nearest
 * when the key looks like a typo of one). `what` names the object in the message.
 */
export function checkKnownKeys(what: string, obj: object, valid: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (valid.includes(key)) continue;
    const near = nearestName(key, valid);
    throw new TypeError(`unknown ${what} ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; valid: ${valid.join(', ')}`);
  }
}

function perLoss<T>(value: PerLoss<T>, loss: LossName): T {
  return typeof value === 'function' ? (value as (l: LossName) => T)(loss) : value;
}

function checkOption(name: string, spec: OptionSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'number':
      if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value} ${JSON.stringify(value)}`);
      if (!Number.isFinite(value) || value < spec.min || value > spec.max) {
        throw new RangeError(`${name} must be a finite number${spec.min > 0 ? ' > 0' : ''} within [${fmt(spec.min)}, ${fmt(spec.max)}]${spec.why ? ` (${spec.why})` : ''}, got ${value}`);
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'choice':
      if (typeof value !== 'string' || !spec.values.includes(value)) {
        throw new TypeError(`unknown ${name} ${JSON.stringify(value)}; expected one of ${spec.values.join(', ')}`);
      }
      return value;
    case 'custom':
      return spec.check(value, name);
  }
}

/**
 * Fill in defaults and validate; throws a RangeError/TypeError that names the bad option.
 * `d` (the row length D) is needed only to size an array `bank` (K = length / D).
 */
export function resolveOptions(options: LossOptions, d?: number): ResolvedLossOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`unknown loss: options must be an object like { loss: 'dcl' } (loss one of ${REFERENCE_LOSS_NAMES.join(', ')}), got ${JSON.stringify(options)}`);
  checkKnownKeys('option', options, [...Object.keys(OPTION_SCHEMA), ...EXTRA_OPTION_KEYS]);
  if (options.loss === undefined) throw new TypeError(`options.loss is required: one of ${REFERENCE_LOSS_NAMES.join(', ')}`);
  if (!REFERENCE_LOSS_NAMES.includes(options.loss)) {
    throw new TypeError(`unknown loss ${JSON.stringify(options?.loss)}; expected one of ${REFERENCE_LOSS_NAMES.join(', ')}`);
  }
  const loss = options.loss;
  const given = options as unknown as Record<string, unknown>;
  const resolved: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTION_SCHEMA)) {
    const value = given[name];
    if (value === undefined) {
      if (spec.type === 'choice' && spec.default === undefined) throw new TypeError(`option ${name} is required`);
      resolved[name] = spec.type === 'custom' || spec.type === 'boolean' ? spec.default : perLoss(spec.default!, loss);
    } else {
      resolved[name] = checkOption(name, spec, value);
    }
  }
  const out = resolved as unknown as ResolvedLossOptions;
  out.bankRows = options.bank === undefined ? 0 : checkBank(options.bank, d);
  if (options.labels !== undefined) checkLabelsType(options.labels);
  out.hasLabels = options.labels !== undefined;
  for (const rule of OPTION_RULES) rule(out, options);
  return out;
}
