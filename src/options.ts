/**
 * Loss names, options and their defaults, as fixed by MATH.md. Shared by the CPU reference,
 * the GPU dispatcher and the CLI so that every path validates and defaults the same way.
 */

/** The losses this package implements. */
export type LossName = 'ntxent' | 'dcl' | 'dclw' | 'flatnce' | 'dualtemp';

/** Every loss name, in a stable order (tables, CLIs, tests). */
export const LOSS_NAMES: readonly LossName[] = ['ntxent', 'dcl', 'dclw', 'flatnce', 'dualtemp'];

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
}

/** Default temperature per loss (MATH.md). */
export const DEFAULT_TEMPERATURE: Readonly<Record<LossName, number>> = {
  ntxent: 0.5,
  dcl: 0.1,
  dclw: 0.1,
  flatnce: 0.1,
  dualtemp: 0.1,
};
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
  loss: { type: 'choice', values: LOSS_NAMES },
  temperature: { type: 'number', ...SCALE_RANGE, why: SCALE_WHY, default: (loss) => DEFAULT_TEMPERATURE[loss] },
  sigma: { type: 'number', ...SCALE_RANGE, why: SCALE_WHY, default: DEFAULT_SIGMA },
  weightGrad: { type: 'boolean', default: false },
  // m's own range is wide; what the kernels use is τ·m, bounded by a rule below.
  dtM: { type: 'number', min: SCALE_RANGE.min / SCALE_RANGE.max, max: SCALE_RANGE.max / SCALE_RANGE.min, default: DEFAULT_DT_M },
};

/** Constraints between options, checked after every option on its own; each throws on a violation. */
export const OPTION_RULES: readonly ((o: ResolvedLossOptions) => void)[] = [
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
        throw new RangeError(`${name} must be a finite number > 0 within [${fmt(spec.min)}, ${fmt(spec.max)}]${spec.why ? ` (${spec.why})` : ''}, got ${value}`);
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

/** Fill in defaults and validate; throws a RangeError/TypeError that names the bad option. */
export function resolveOptions(options: LossOptions): ResolvedLossOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`unknown loss: options must be an object like { loss: 'dcl' } (loss one of ${LOSS_NAMES.join(', ')}), got ${JSON.stringify(options)}`);
  checkKnownKeys('option', options, Object.keys(OPTION_SCHEMA));
  if (!LOSS_NAMES.includes(options.loss)) {
    throw new TypeError(`unknown loss ${JSON.stringify(options?.loss)}; expected one of ${LOSS_NAMES.join(', ')}`);
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
  for (const rule of OPTION_RULES) rule(out);
  return out;
}
