/**
 * One WebGPU page in a headless Chromium of its own, for Node programs (the CLI, `npm start`):
 * bundle a browser entry with esbuild, serve it on 127.0.0.1, launch Chromium with the WebGPU
 * flags, and return typed calls into the functions the entry registered with `exposeToNode`.
 */
import type { Page } from 'puppeteer-core';
import type { PageFunctions } from './page-rpc.js';
import { callInPage } from './page-call.js';
import { openEntryPage, serveEntryInChrome } from './served-entry.js';

/** What the page's WebGPU adapter says it is (`GPUAdapter.info`). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
}

/** An open page with typed calls into its functions. Close it to end Chromium and the server. */
export interface WebGPUPage<F extends PageFunctions> {
  page: Page;
  adapter: AdapterInfo;
  call<K extends keyof F & string>(name: K, ...args: Parameters<F[K]>): Promise<Awaited<ReturnType<F[K]>>>;
  close(): Promise<void>;
}

/**
 * Open `entry` (a browser module that calls `exposeToNode`; an absolute path, or one relative to
 * the working directory) in a fresh headless Chromium. Throws when Chromium is missing or the
 * page has no WebGPU adapter, after cleaning up.
 */
export async function openWebGPUPage<F extends PageFunctions>(entry: string): Promise<WebGPUPage<F>> {
  const served = await serveEntryInChrome(entry);
  try {
    const page = await openEntryPage(served.browser, served.url, { what: 'the WebGPU page', timeoutMs: 30_000 });
    const adapter = await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      if (!a) return null;
      return { vendor: a.info.vendor, architecture: a.info.architecture, description: a.info.description };
    });
    if (!adapter) {
      throw new Error(
        'headless Chromium offers no WebGPU adapter (navigator.gpu.requestAdapter() returned null); ' +
          'check that this Chromium supports WebGPU with --enable-unsafe-webgpu (and SwiftShader without a GPU)',
      );
    }
    return {
      page,
      adapter,
      call: (name, ...args) => callInPage<F, typeof name>(page, name, ...args),
      close: served.close,
    };
  } catch (e) {
    await served.close();
    throw e;
  }
}
