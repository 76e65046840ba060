/**
 * One helper for tests that run code in the browser: `openPage()` connects to the run's shared
 * Chromium, leases a tab of the test page, and returns a typed `call(name, ...args)` into the
 * functions that `test/browser/entry.ts` exposes.
 *
 * Test files share tabs instead of opening one each: a tab keeps what its page functions set up
 * once (the compiled dispatcher of `pageLoss`, tfjs's and jax-js's backends and the op's cached
 * dispatchers), and compiling the kernels alone costs seconds of CPU per tab on SwiftShader. A tab
 * is leased to one file at a time — the flag is taken inside the page's own JS thread, so two
 * workers cannot take the same tab — and handed back by `close()`; with every tab taken a new one
 * opens, so there are about as many tabs as vitest workers. Page functions therefore must not
 * assume a fresh page: they check their backend, and count buffers and tensors relative to their
 * own start. `FRESH_TEST_PAGE=1` opens a new tab per file (to rule sharing out when debugging).
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

type LeaseWindow = { __testPageLeased?: boolean };

/** Take `page` if no file holds it (atomic: one evaluate in the page's thread). */
async function tryLease(page: Page): Promise<boolean> {
  return page
    .evaluate(() => {
      const w = window as unknown as LeaseWindow;
      if (w.__testPageLeased) return false;
      w.__testPageLeased = true;
      return true;
    })
    .catch(() => false);
}

/** A free tab of the test page, or a new one; leased to the caller. */
async function leaseTab(browser: Browser, url: string): Promise<Page> {
  if (!process.env.FRESH_TEST_PAGE) {
    for (const page of await browser.pages()) {
      if (page.url() === url && (await tryLease(page))) return page;
    }
  }
  const page = await browser.newPage();
  await page.goto(url);
  await waitForPage(page);
  await tryLease(page);
  return page;
}

/** Lease a tab of the test page in the run's browser (launched once by the global setup). */
export async function openPage(): Promise<TestPage> {
  const browser: Browser = await puppeteer.connect({
    browserWSEndpoint: inject('browserWSEndpoint'),
    protocolTimeout: 30 * 60_000,
  });
  const page = await leaseTab(browser, inject('pageURL'));
  const onError = (e: unknown) => console.error('[page error]', e);
  page.on('pageerror', onError);
  return {
    page,
    call: (name, ...args) => callInPage<PageApi, typeof name>(page, name, ...args),
    close: async () => {
      page.off('pageerror', onError);
      if (process.env.FRESH_TEST_PAGE) await page.close();
      else await page.evaluate(() => void ((window as unknown as LeaseWindow).__testPageLeased = false)).catch(() => undefined);
      await browser.disconnect();
    },
  };
}
