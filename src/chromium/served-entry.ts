/**
 * Headless Chromium with one browser entry served beside it: what the test harness, the CLI
 * and the benchmark all start from. Bundle the entry with esbuild, serve it on 127.0.0.1 (WebGPU
 * needs a secure context), launch Chromium with the WebGPU flags, and open pages that wait for
 * the entry to call `exposeToNode`.
 */
import type { Browser, Page } from 'puppeteer-core';
// @ts-expect-error plain ESM config module without types
import { bundleForBrowser } from '../../esbuild.config.mjs';
import { launchChrome } from './chrome.js';
import { waitForPage } from './page-call.js';
import { modulePage, serveFiles, type ServedFiles, type StaticServer } from './static-server.js';

/** A running Chromium and the server of its entry page. */
export interface ServedEntry {
  browser: Browser;
  /** The page that loads the entry (http://127.0.0.1:PORT/). */
  url: string;
  /** Close Chromium, then the server. */
  close(): Promise<void>;
}

/**
 * Bundle `entry` (a browser module; absolute, or relative to the working directory), serve it
 * and launch Chromium with the WebGPU flags plus `extraFlags`. Cleans up before rethrowing.
 */
export async function serveEntryInChrome(entry: string, options: { title?: string; extraFlags?: string[] } = {}): Promise<ServedEntry> {
  const files: ServedFiles = new Map();
  files.set('/index.html', { body: modulePage('/entry.js', options.title), type: 'text/html' });
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
    browser = await launchChrome(options.extraFlags);
    return { browser, url: server.url, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Open `url` in a new tab of `browser` and wait (up to `timeoutMs`) until its entry has called
 * `exposeToNode`. Page errors go to `onError`, console errors to `onConsoleError` (both from the
 * first load on); a page that does not start throws
 * "`what` did not start: <its first page error>".
 */
export async function openEntryPage(
  browser: Browser,
  url: string,
  options: { what: string; timeoutMs: number; onError?: (message: string) => void; onConsoleError?: (text: string) => void },
): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => {
    const message = e instanceof Error ? e.message : String(e);
    errors.push(message);
    options.onError?.(message);
  });
  if (options.onConsoleError) {
    const report = options.onConsoleError;
    page.on('console', (m) => {
      if (m.type() === 'error') report(m.text());
    });
  }
  await page.goto(url);
  try {
    await waitForPage(page, options.timeoutMs);
  } catch (e) {
    throw new Error(`${options.what} did not start: ${errors[0] ?? (e as Error).message}`);
  }
  return page;
}
