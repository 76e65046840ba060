/**
 * One headless Chromium for the whole benchmark: the page bundle is served on 127.0.0.1, the main
 * page runs the timed cases, and the max-batch probe opens fresh pages (fresh devices on the same
 * adapter) in the same browser, so a lost device or a full memory pool never spills into the
 * other measurements.
 */
import type { Browser, Page } from 'puppeteer-core';
import { callInPage } from '../src/chromium/page-call.js';
import { openEntryPage, serveEntryInChrome } from '../src/chromium/served-entry.js';
import type { BenchPageApi } from './page/entry.js';

/** Chromium flags on top of the WebGPU ones: full-resolution timestamps (no 100 µs quantization). */
const BENCH_FLAGS = ['--enable-webgpu-developer-features'];

/** A page with typed calls into the benchmark page's functions. */
export interface BenchPage {
  page: Page;
  call<K extends keyof BenchPageApi & string>(name: K, ...args: Parameters<BenchPageApi[K]>): Promise<Awaited<ReturnType<BenchPageApi[K]>>>;
  close(): Promise<void>;
}

/** The browser, its server, and the main page. */
export interface BenchSession {
  browser: Browser;
  /** Chromium's version string. */
  version: string;
  main: BenchPage;
  /** Open another benchmark page (a new GPUDevice on the same adapter). */
  openPage(): Promise<BenchPage>;
  close(): Promise<void>;
}

/** Bundle `entry`, serve it, launch Chromium and open the main page. */
export async function openBenchSession(entry: string, log: (line: string) => void): Promise<BenchSession> {
  const served = await serveEntryInChrome(entry, { title: 'webgpu-contrastive bench', extraFlags: BENCH_FLAGS });
  const { browser, url } = served;
  try {
    const openPage = async (): Promise<BenchPage> => {
      const page = await openEntryPage(browser, url, {
        what: 'the benchmark page',
        timeoutMs: 60_000,
        onError: (message) => log(`[page error] ${message}`),
        onConsoleError: (text) => log(`[page console] ${text}`),
      });
      return {
        page,
        call: (name, ...args) => callInPage<BenchPageApi, typeof name>(page, name, ...args),
        close: () => page.close().catch(() => undefined),
      };
    };
    const main = await openPage();
    await main.call('start');
    return { browser, version: await browser.version(), main, openPage, close: served.close };
  } catch (e) {
    await served.close();
    throw e;
  }
}
