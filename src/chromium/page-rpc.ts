/**
 * Page side of the Node↔page call bridge: a page registers named async functions, and Node calls
 * them by name with {@link callInPage}. Arguments and results go through the typed-array codec.
 */
import { decode, encode } from './rpc-codec.js';

/** A set of functions a page offers to Node. */
export type PageFunctions = Record<string, (...args: any[]) => unknown>;

declare global {
  interface Window {
    __wcCall?: (name: string, args: unknown) => Promise<unknown>;
    __wcReady?: boolean;
  }
}

/**
 * Offer `fns` to Node; sets `window.__wcReady` once callable. Outside a page (the same module
 * imported by Node, where the test harness calls the functions directly) it does nothing.
 */
export function exposeToNode(fns: PageFunctions): void {
  if (typeof window === 'undefined') return;
  window.__wcCall = async (name, args) => {
    const fn = fns[name];
    if (!fn) throw new Error(`page has no function ${name}; it has ${Object.keys(fns).join(', ')}`);
    try {
      return { ok: encode(await fn(...(decode(args) as unknown[]))) };
    } catch (e) {
      const err = e as Error;
      return { error: { name: err?.name ?? 'Error', message: String(err?.message ?? e), stack: err?.stack } };
    }
  };
  window.__wcReady = true;
}
