/**
 * The loss-option flags of `webgpu-contrastive eval`, one table entry per option: its flag, the
 * LossOptions key it sets, which losses read it, the result.json field it is recorded under and
 * its help line. How its text is read comes from the option schema (src/options.ts
 * OPTION_SCHEMA: number, boolean or choice; `bank`, outside the schema, is an .npy path the
 * command reads), and resolveOptions checks the value's range and the rules between options.
 * Parsing, the options object, the "does not affect" notes, result.json and the usage text all
 * come from this table, so a new option is one more entry.
 */
import { DEFAULT_BASE_TEMPERATURE, DEFAULT_DT_M, DEFAULT_SIGLIP_BIAS, DEFAULT_SIGMA, DEFAULT_TEMPERATURE, isFusedLoss, OPTION_SCHEMA, REFERENCE_LOSS_NAMES, THIRD_WAVE_LOSS_NAMES, type LossName, type LossOptions, type ResolvedLossOptions } from '../options.js';
import { UsageError, numberFlag } from './common.js';

/** How a flag's text becomes an option value. */
export type FlagKind =
  | { type: 'number'; positive?: boolean }
  | { type: 'boolean' }
  | { type: 'choice'; choices: readonly string[] }
  /** A path to a K×D .npy file: the command reads it (see {@link lossOptionsFromFlags}'s `files`). */
  | { type: 'npy' };

/** The LossOptions keys whose flag names an .npy file instead of a value. */
const NPY_OPTION_KEYS: readonly (keyof LossOptions)[] = ['bank', 'labels'];

/** One loss option on the command line. */
export interface LossOptionFlag {
  /** The flag without its dashes, e.g. `temperature` for `--temperature`. */
  flag: string;
  /** The LossOptions key it sets. */
  key: keyof LossOptions;
  /** The losses that read it (all when absent). */
  losses?: readonly LossName[];
  /**
   * The field of result.json that records the resolved value. Absent for a flag that asks for
   * an output (`--grad-temperature`, `--diagnostics`): that output's own field is its record.
   */
  resultField?: string;
  /** The ResolvedLossOptions key recorded under `resultField` (default: `key`). */
  resolvedKey?: keyof ResolvedLossOptions;
  /** Placeholder for the value in the usage text (none for booleans). */
  metavar?: string;
  /** The usage text's description. */
  help: string;
}

/** Every loss option the CLI takes. */
export const LOSS_OPTION_FLAGS: readonly LossOptionFlag[] = [
  {
    flag: 'temperature',
    key: 'temperature',
    resultField: 'temperature',
    metavar: 'T',
    help: `τ > 0 (default ${REFERENCE_LOSS_NAMES.map((k) => `${DEFAULT_TEMPERATURE[k]} ${k}`).join(', ')})`,
  },
  {
    flag: 'sigma',
    key: 'sigma',
    losses: ['dclw'],
    resultField: 'sigma',
    metavar: 'S',
    help: `DCLW σ > 0 (default ${DEFAULT_SIGMA}; dclw only)`,
  },
  {
    flag: 'weight-grad',
    key: 'weightGrad',
    losses: ['dclw'],
    resultField: 'weight_grad',
    help: 'DCLW: gradient flows through the weights (default: detached; dclw only)',
  },
  {
    flag: 'dt-m',
    key: 'dtM',
    losses: ['dualtemp'],
    resultField: 'dt_m',
    metavar: 'M',
    help: `dual temperature ratio m > 0 (default ${DEFAULT_DT_M}; dualtemp only)`,
  },
  {
    flag: 'negatives',
    key: 'negatives',
    resultField: 'negatives',
    metavar: 'SET',
    help: "all (both views; default) | cross (other view only: CLIP's loss with ntxent; dualtemp's only value)",
  },
  {
    flag: 'bank',
    key: 'bank',
    resultField: 'bank_rows',
    resolvedKey: 'bankRows',
    metavar: 'B.npy',
    help: 'K×D queue negatives (float32/float64, the views\' D) instead of the in-batch ones',
  },
  {
    flag: 'labels',
    key: 'labels',
    losses: ['supcon'],
    metavar: 'Y.npy',
    help: 'supcon: N class labels, int32 or int64, shape (N,) (equal label = same class; both views share it)',
  },
  {
    flag: 'base-temperature',
    key: 'baseTemperature',
    losses: ['supcon'],
    resultField: 'base_temperature',
    metavar: 'T',
    help: `supcon: τ_base > 0 of the factor τ/τ_base (default ${DEFAULT_BASE_TEMPERATURE})`,
  },
  {
    flag: 'bias',
    key: 'bias',
    losses: ['siglip'],
    resultField: 'bias',
    metavar: 'B',
    help: `siglip: the logit bias b, any finite number (default ${DEFAULT_SIGLIP_BIAS})`,
  },
  {
    flag: 'grad-bias',
    key: 'gradBias',
    losses: ['siglip'],
    help: 'siglip: also write grad_bias (∂L/∂b) into result.json',
  },
  {
    flag: 'grad-temperature',
    key: 'gradTemperature',
    help: 'also write grad_temperature (∂L/∂τ) into result.json',
  },
  {
    flag: 'diagnostics',
    key: 'diagnostics',
    help: 'also write diagnostics {alignment, uniformity, positive_probability, npc_multiplier} into result.json',
  },
];

/** How `f`'s text is read, from the option schema. */
export function flagKind(f: LossOptionFlag): FlagKind {
  if (NPY_OPTION_KEYS.includes(f.key)) return { type: 'npy' };
  const spec = OPTION_SCHEMA[f.key];
  if (!spec) throw new Error(`CLI flag --${f.flag} names ${f.key}, which the option schema does not have`);
  if (spec.type === 'number') return { type: 'number', positive: spec.min > 0 };
  if (spec.type === 'choice') return { type: 'choice', choices: spec.values };
  if (spec.type === 'boolean' || typeof spec.default === 'boolean') return { type: 'boolean' };
  throw new Error(`CLI flag --${f.flag}: option ${f.key} has no command-line form (schema type ${spec.type})`);
}

/** The node:util parseArgs entries for the table. */
export function lossOptionParseConfig(): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(LOSS_OPTION_FLAGS.map((f) => [f.flag, { type: flagKind(f).type === 'boolean' ? 'boolean' : 'string' }]));
}

/** The usage lines for the table, aligned like the rest of the help. */
export function lossOptionUsage(): string {
  return LOSS_OPTION_FLAGS.map((f) => {
    const left = `  --${f.flag}${f.metavar ? ` ${f.metavar}` : ''}`;
    return `${left.padEnd(24)}${f.help}`;
  }).join('\n');
}

/**
 * The options the flags set (only those given), the flags given that `loss` does not read, and
 * the .npy paths given for file options (by LossOptions key, with their flag): the command reads
 * those and puts the values into `options` itself.
 */
export function lossOptionsFromFlags(
  loss: LossName,
  values: Record<string, string | boolean | undefined>,
): { options: LossOptions; ignored: string[]; files: { key: keyof LossOptions; flag: string; path: string }[] } {
  const options: LossOptions = { loss };
  const ignored: string[] = [];
  const files: { key: keyof LossOptions; flag: string; path: string }[] = [];
  for (const f of LOSS_OPTION_FLAGS) {
    const raw = values[f.flag];
    if (raw === undefined || raw === false) continue;
    let value: number | boolean | string;
    const kind = flagKind(f);
    if (f.losses && !f.losses.includes(loss)) {
      // The third wave's flags, and any flag given with a third-wave loss, are errors where they
      // do not apply (docs/FORMULAS.md "SupCon and SigLIP"); the first waves' keep their note, as before.
      if (!isFusedLoss(loss) || f.losses.some((l) => !isFusedLoss(l))) {
        throw new UsageError(`--${f.flag} does not apply to ${loss}: it is for ${f.losses.join(', ')} only (leave it out)`);
      }
      ignored.push(`--${f.flag}`);
    }
    if (kind.type === 'npy') {
      files.push({ key: f.key, flag: `--${f.flag}`, path: raw as string });
      continue;
    }
    if (kind.type === 'boolean') value = true;
    else if (kind.type === 'number') value = numberFlag(`--${f.flag}`, raw as string, { positive: kind.positive })!;
    else {
      if (!kind.choices.includes(raw as string)) throw new UsageError(`--${f.flag} must be one of ${kind.choices.join(', ')}, got '${raw}'`);
      value = raw as string;
    }
    (options as unknown as Record<string, unknown>)[f.key] = value;
  }
  return { options, ignored, files };
}

/** The result.json fields of the resolved options, and the names of those `loss` reads. */
export function resolvedOptionFields(resolved: ResolvedLossOptions): { fields: Record<string, unknown>; used: string[] } {
  const fields: Record<string, unknown> = {};
  const used: string[] = [];
  for (const f of LOSS_OPTION_FLAGS) {
    if (f.resultField === undefined) continue;
    // A third-wave option is recorded only for the loss that reads it.
    if (f.losses && !f.losses.includes(resolved.loss) && f.losses.some((l) => (THIRD_WAVE_LOSS_NAMES as readonly string[]).includes(l))) continue;
    fields[f.resultField] = resolved[f.resolvedKey ?? (f.key as keyof ResolvedLossOptions)];
    if (!f.losses || f.losses.includes(resolved.loss)) used.push(f.resultField);
  }
  return { fields, used };
}

/**
 * An option error from the schema (which names options by their LossOptions key, e.g. "negatives
 * does not apply to siglip") with the key replaced by its command-line flag (`--negatives …`).
 */
export function withFlagNames(message: string): string {
  const key = /^(\w+)\W/.exec(message)?.[1];
  const f = LOSS_OPTION_FLAGS.find((x) => x.key === key);
  return f ? `--${f.flag}${message.slice(f.key.length)}` : message;
}
