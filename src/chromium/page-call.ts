/**
 * Node side of the page call bridge: call a function a page registered with `exposeToNode`,
 * with typed arguments and results (Float32Arrays survive the trip bit-exact).
 */
import type { Page } from 'puppeteer-core';
import { decode, encode } from './rpc-codec.js';
import type { PageFunctions } from './page-rpc.js';

/** Wait until the page's bundle has registered its functions. */
export async function waitForPage(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(() => window.__wcReady === true, { timeout: timeoutMs });
}

/** Call `name` in the page; rethrows the page's error with its name and message. */
export async function callInPage<F extends PageFunctions, K extends keyof F & string>(
  page: Page,
  name: K,
  ...args: Parameters<F[K]>
): Promise<Awaited<ReturnType<F[K]>>> {
  const reply = (await page.evaluate(
    (n: string, a: unknown) => window.__wcCall!(n, a),
    name,
    encode(args) as any,
  )) as { ok?: unknown; error?: { name: string; message: string; stack?: string } };
  if (reply.error) {
    const err = new Error(reply.error.message);
    err.name = reply.error.name;
    err.stack = `${reply.error.name}: ${reply.error.message}\n(in page) ${reply.error.stack ?? ''}`;
    throw err;
  }
  return decode(reply.ok) as Awaited<ReturnType<F[K]>>;
}
