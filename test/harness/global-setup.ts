/**
 * Vitest global setup: bundle the browser test entry with esbuild, serve it on 127.0.0.1, and
 * launch one headless Chromium (WebGPU on) for the whole run. Test files reach it through
 * `inject('browserWSEndpoint')` / `inject('pageURL')` (see ./page.ts).
 */
import type { TestProject } from 'vitest/node';
import { serveEntryInChrome } from '../../src/chromium/served-entry.js';

declare module 'vitest' {
  export interface ProvidedContext {
    browserWSEndpoint: string;
    pageURL: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const served = await serveEntryInChrome('test/browser/entry.ts');
  project.provide('browserWSEndpoint', served.browser.wsEndpoint());
  project.provide('pageURL', served.url);
  return served.close;
}
