/**
 * What the CLI's commands share: error kinds (and their exit codes), strict flag parsing, number
 * flags, and where the page entry lives.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { REFERENCE_LOSS_NAMES as LOSS_NAMES, type LossName } from '../options.js';

/** Where the CLI runs from. */
export interface CliContext {
  /** The package's root directory (holds package.json, and dist/ or src/). */
  packageRoot: string;
  /**
   * True when running the built dist/ CLI (an installed package): `--runtime chromium` loads the
   * prebuilt page dist/chromium/cli-page.js. False in a development checkout, where the page is
   * bundled from src/chromium/cli-page.ts with esbuild.
   */
  built?: boolean;
}

/** A mistake in how the CLI was called or in the files it was given: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit status for usage errors (bad flags, bad input files). */
export const EXIT_USAGE = 2;
/** Exit status for failures while running (no Chromium, no WebGPU adapter, a GPU error). */
export const EXIT_RUNTIME = 1;

/** The page the CLI opens in headless Chromium: a prebuilt bundle, or a source entry to bundle. */
export function cliPageSource(ctx: CliContext): { bundle: string } | { entry: string } {
  return ctx.built
    ? { bundle: join(ctx.packageRoot, 'dist', 'chromium', 'cli-page.js') }
    : { entry: join(ctx.packageRoot, 'src', 'chromium', 'cli-page.ts') };
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed values of a strict, positional-free parse against `O`. */
export type FlagValues<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/** Parse `argv` strictly against `options` (no positionals); unknown or malformed flags are usage errors. */
export function parseFlags<O extends Options>(argv: string[], options: O): FlagValues<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.trim().replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * Plain decimal notation: optional sign, digits with an optional fraction, an optional exponent
 * (`0.07`, `-3`, `.5`, `1e-3`). Not hexadecimal/octal/binary (`0x10`), `Infinity`, blanks, `1_000`.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A number flag's value: undefined when absent, else a finite number written as a plain decimal
 * (`> 0` when `positive`, an integer ≥ `minInt` when given). The message names the flag and the
 * text it got.
 */
export function numberFlag(
  flag: string,
  text: string | undefined,
  rule: { positive?: boolean; minInt?: number } = {},
): number | undefined {
  if (text === undefined) return undefined;
  if (!DECIMAL.test(text)) throw new UsageError(`${flag} must be a plain decimal number (like 0.1 or 1e-3), got '${text}'`);
  const v = Number(text);
  if (!Number.isFinite(v)) throw new UsageError(`${flag} must be a finite number, got '${text}'`);
  if (rule.positive && v <= 0) throw new UsageError(`${flag} must be > 0, got ${text}`);
  if (rule.minInt !== undefined && (!Number.isInteger(v) || v < rule.minInt)) {
    throw new UsageError(`${flag} must be an integer ≥ ${rule.minInt}, got '${text}'`);
  }
  return v;
}

/** A `--loss` value: any loss of the option schema (REFERENCE_LOSS_NAMES: the first waves' and supcon, siglip). */
export function lossFlag(text: string | undefined): LossName {
  if (text === undefined) throw new UsageError(`missing --loss NAME (one of ${LOSS_NAMES.join(', ')})`);
  if (!(LOSS_NAMES as readonly string[]).includes(text)) {
    throw new UsageError(`unknown loss '${text}'; expected one of ${LOSS_NAMES.join(', ')}`);
  }
  return text as LossName;
}

/** The first line of an error's message (CLI errors are one line). */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim() || (e instanceof Error ? e.name : 'error');
}

/** The package's version, from its package.json ('unknown' if unreadable). */
export function packageVersion(ctx: CliContext): string {
  try {
    return (JSON.parse(readFileSync(join(ctx.packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
