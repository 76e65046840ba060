/**
 * One headless Chromium for the whole benchmark: the page bundle is served on 127.0.0.1, the main
 * page runs the timed cases, and the max-batch probe opens fresh pages (fresh devices on the same
 * adapter) in the same browser, so a lost device or a full memory pool never spills into the
 * other measurements.
 */
import type { Browser, Page } from 'puppeteer-core';
import { callInPage } from '../src/chromium/page-call.js';
import { openEntryPage, serveEntryInChrome } from '../src/chromium/served-entry.js';
import { installDawnNavigator } from '../src/runtime/node.js';
import type { BenchPageApi } from './page/entry.js';
import type { BenchRuntime } from './types.js';

/** Chromium flags on top of the WebGPU ones: full-resolution timestamps (no 100 µs quantization). */
const BENCH_FLAGS = ['--enable-webgpu-developer-features'];

/** A page with typed calls into the benchmark page's functions. */
export interface BenchPage {
  /** The Chromium page (absent on the node runtime, where the functions are called directly). */
  page?: Page;
  call<K extends keyof BenchPageApi & string>(name: K, ...args: Parameters<BenchPageApi[K]>): Promise<Awaited<ReturnType<BenchPageApi[K]>>>;
  close(): Promise<void>;
}

/** The browser, its server, and the main page. */
export interface BenchSession {
  runtime: BenchRuntime;
  browser?: Browser;
  /** Chromium's version string, or Node's and Dawn's. */
  version: string;
  main: BenchPage;
  /** Open another benchmark page (a new GPUDevice on the same adapter). */
  openPage(): Promise<BenchPage>;
  close(): Promise<void>;
}

/**
 * Node on Dawn: the page functions imported into this process, with Dawn as `navigator.gpu`
 * (installed before the page module, and so tfjs-backend-webgpu, is first imported). There is one
 * device for the process: `openPage()` returns the main page again.
 */
async function openNodeSession(): Promise<BenchSession> {
  await installDawnNavigator();
  const { pageFunctions } = await import('./page/entry.js');
  const fns = pageFunctions as unknown as Record<string, (...args: unknown[]) => unknown>;
  const main: BenchPage = {
    call: async (name, ...args) => (await fns[name]!(...args)) as never,
    close: async () => undefined,
  };
  await main.call('start');
  let dawn = 'unknown';
  try {
    const { createRequire } = await import('node:module');
    dawn = (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
  } catch {
    // the version is only a label
  }
  return { runtime: 'node', version: `Node ${process.version}, Dawn (npm webgpu ${dawn})`, main, openPage: async () => main, close: async () => undefined };
}

/** Open the benchmark on `runtime`: Chromium (bundle `entry`, serve it, open the main page) or Node. */
export async function openBenchSession(entry: string, log: (line: string) => void, runtime: BenchRuntime = 'chromium'): Promise<BenchSession> {
  if (runtime === 'node') return openNodeSession();
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
    return { runtime, browser, version: await browser.version(), main, openPage, close: served.close };
  } catch (e) {
    await served.close();
    throw e;
  }
}
