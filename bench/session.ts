/**
 * One headless Chromium for the whole benchmark: the page bundle is served on 127.0.0.1, the main
 * page runs the timed cases, and the max-batch probe opens fresh pages (fresh devices on the same
 * adapter) in the same browser, so a lost device or a full memory pool never spills into the
 * other measurements.
 */
import type { Browser, Page } from 'puppeteer-core';
// @ts-expect-error plain ESM config module without types
import { bundleForBrowser } from '../esbuild.config.mjs';
import { launchChrome } from '../src/node/chrome.js';
import { callInPage, waitForPage } from '../src/node/page-call.js';
import { modulePage, serveFiles, type ServedFiles, type StaticServer } from '../src/node/static-server.js';
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
  const files: ServedFiles = new Map();
  files.set('/index.html', { body: modulePage('/entry.js', 'webgpu-contrastive bench'), type: 'text/html' });
  files.set('/favicon.ico', { body: '', type: 'image/x-icon' });
  files.set('/entry.js', { body: (await bundleForBrowser(entry)) as string, type: 'text/javascript' });
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
  };
  try {
    server = await serveFiles(files);
    browser = await launchChrome(BENCH_FLAGS);
    const url = server.url;
    const b = browser;
    const openPage = async (): Promise<BenchPage> => {
      const page = await b.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => {
        const msg = e instanceof Error ? e.message : String(e);
        errors.push(msg);
        log(`[page error] ${msg}`);
      });
      page.on('console', (m) => {
        if (m.type() === 'error') log(`[page console] ${m.text()}`);
      });
      await page.goto(url);
      try {
        await waitForPage(page, 60_000);
      } catch (e) {
        throw new Error(`the benchmark page did not start: ${errors[0] ?? (e as Error).message}`);
      }
      return {
        page,
        call: (name, ...args) => callInPage<BenchPageApi, typeof name>(page, name, ...args),
        close: () => page.close().catch(() => undefined),
      };
    };
    const main = await openPage();
    await main.call('start');
    return { browser, version: await browser.version(), main, openPage, close };
  } catch (e) {
    await close();
    throw e;
  }
}
