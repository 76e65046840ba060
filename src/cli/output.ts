/**
 * The CLI's output directory rules (README "Command line"):
 *   - every output is written into a temporary directory beside `--out`, and renamed into place
 *     only once all of them are written (a failure leaves `--out` as it was);
 *   - an existing non-empty `--out` is refused unless `--force` (which replaces only the files
 *     the command writes, result.json last);
 *   - an output that is one of the inputs (same file, by device and inode) is refused, `--force`
 *     or not;
 *   - writability is established before any GPU work: the temporary directory is created up front;
 *   - nothing loops: parents are created one level at a time, never with a recursive mkdir (which
 *     in Node spins forever on ENOENT under /proc).
 */
import { accessSync, chmodSync, constants, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './common.js';

/** A prepared output directory: write files into `temp`, then {@link OutputDir.commit}. */
export interface OutputDir {
  /** The `--out` directory, absolute. */
  out: string;
  /** Where to write the outputs now. */
  temp: string;
  /** Move every output into `out` (the last name in `names` last); removes `temp`. */
  commit(): void;
  /** Remove `temp` and everything in it; `out` is untouched. */
  abort(): void;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
}

/** Create `dir`'s missing ancestors and itself, one level at a time; usage errors name the level. */
function makeDirs(dir: string, flag: string): void {
  const missing: string[] = [];
  let p = dir;
  for (;;) {
    let st: Stats | undefined;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${flag}: cannot inspect ${p} (${why(e)})`);
    }
    if (st) {
      if (!statSync(p).isDirectory()) throw new UsageError(`${flag}: ${p} is not a directory`);
      break;
    }
    missing.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      throw new UsageError(`${flag}: cannot create the directory ${m} (${why(e)})`);
    }
  }
}

/**
 * Check and prepare `out` for the files `names` (written in that order; the last is renamed
 * last), refusing to overwrite any of `inputs`. Throws {@link UsageError} on every refusal.
 */
export function prepareOutputDir(outArg: string, names: readonly string[], inputs: readonly { flag: string; path: string }[], force: boolean): OutputDir {
  const flag = '--out';
  const out = resolve(outArg);
  const existing = statOrUndefined(out);
  let nonEmpty = false;
  if (existing) {
    if (!existing.isDirectory()) throw new UsageError(`${flag} ${outArg} exists and is not a directory`);
    let entries: string[];
    try {
      entries = readdirSync(out);
    } catch (e) {
      throw new UsageError(`${flag} ${outArg}: cannot read the directory (${why(e)})`);
    }
    nonEmpty = entries.length > 0;
    for (const input of inputs) {
      const inStat = statOrUndefined(input.path);
      for (const name of names) {
        const target = statOrUndefined(join(out, name));
        if (inStat && target && inStat.dev === target.dev && inStat.ino === target.ino) {
          throw new UsageError(`${flag} ${outArg} would overwrite the input ${input.flag} ${input.path} (as ${name}); choose another --out (--force does not allow this)`);
        }
      }
    }
    if (nonEmpty && !force) {
      const shown = entries.slice(0, 4).join(', ') + (entries.length > 4 ? ', …' : '');
      throw new UsageError(`${flag} ${outArg} exists and is not empty (${shown}); choose an empty or new directory, or pass --force to replace ${names.join(', ')} in it`);
    }
    if (nonEmpty) {
      try {
        accessSync(out, constants.W_OK);
      } catch (e) {
        throw new UsageError(`${flag} ${outArg} is not writable (${why(e)})`);
      }
    }
  }
  const parent = dirname(out);
  makeDirs(parent, `${flag} ${outArg}`);
  let temp: string;
  try {
    temp = mkdtempSync(join(parent, `.${basename(out)}.tmp-`));
    chmodSync(temp, 0o777 & ~process.umask()); // mkdtemp makes it 0700; --out gets mkdir's usual mode
  } catch (e) {
    throw new UsageError(`${flag} ${outArg}: cannot write in ${parent} (${why(e)})`);
  }
  const abort = () => rmSync(temp, { recursive: true, force: true });
  const commit = () => {
    const now = statOrUndefined(out);
    if (!now) {
      renameSync(temp, out);
      return;
    }
    if (readdirSync(out).length === 0) {
      rmdirSync(out);
      renameSync(temp, out);
      return;
    }
    // --force into a non-empty directory: replace our files only, result last.
    for (const name of names) renameSync(join(temp, name), join(out, name));
    rmdirSync(temp);
  };
  return { out, temp, commit, abort };
}
