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
  loss: LossName;
  temperature: number;
  sigma: number;
  weightGrad: boolean;
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
  default: PerLoss<number>;
}

/** A boolean (no truthy strings). */
export interface BooleanOptionSpec {
  type: 'boolean';
  default: boolean;
}

/** One of a fixed set of strings. */
export interface ChoiceOptionSpec {
  type: 'choice';
  values: readonly string[];
  /** Absent: the option is required. */
  default?: PerLoss<string>;
}

/** Anything else: `check` validates a given value (throws) and returns what to store. */
export interface CustomOptionSpec {
  type: 'custom';
  /** The value stored when the option is absent. */
  default: unknown;
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
  temperature: { type: 'number', min: Number.MIN_VALUE, max: Number.MAX_VALUE, default: (loss) => DEFAULT_TEMPERATURE[loss] },
  sigma: { type: 'number', min: Number.MIN_VALUE, max: Number.MAX_VALUE, default: DEFAULT_SIGMA },
  weightGrad: { type: 'custom', default: false, check: (v) => v },
  dtM: { type: 'number', min: Number.MIN_VALUE, max: Number.MAX_VALUE, default: DEFAULT_DT_M },
};

/** Constraints between options, checked after every option on its own; each throws on a violation. */
export const OPTION_RULES: readonly ((o: ResolvedLossOptions) => void)[] = [];

function perLoss<T>(value: PerLoss<T>, loss: LossName): T {
  return typeof value === 'function' ? (value as (l: LossName) => T)(loss) : value;
}

function checkOption(name: string, spec: OptionSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < spec.min || value > spec.max) {
        throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
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
  if (!options || !LOSS_NAMES.includes(options.loss)) {
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
