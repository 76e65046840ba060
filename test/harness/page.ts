/**
 * One helper for tests that run code in the browser: `openPage()` connects to the run's shared
 * Chromium, opens the test page, and returns a typed `call(name, ...args)` into the functions
 * that `test/browser/entry.ts` exposes.
 */
import { inject } from 'vitest';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { callInPage, waitForPage } from '../../src/chromium/page-call.js';
import type { PageApi } from '../browser/entry.js';

/** A page of the shared browser, with typed calls into it. */
export interface TestPage {
  page: Page;
  call<K extends keyof PageApi & string>(name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>>;
  close(): Promise<void>;
}

/** Open the test page in the run's browser (launched once by the global setup). */
export async function openPage(): Promise<TestPage> {
  const browser: Browser = await puppeteer.connect({
    browserWSEndpoint: inject('browserWSEndpoint'),
    protocolTimeout: 30 * 60_000,
  });
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(inject('pageURL'));
  await waitForPage(page);
  return {
    page,
    call: (name, ...args) => callInPage<PageApi, typeof name>(page, name, ...args),
    close: async () => {
      await page.close();
      await browser.disconnect();
    },
  };
}
