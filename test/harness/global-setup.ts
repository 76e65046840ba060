/**
 * Vitest global setup: bundle the browser test entry with esbuild, serve it on 127.0.0.1, and
 * launch one headless Chromium (WebGPU on) for the whole run. Test files reach it through
 * `inject('browserWSEndpoint')` / `inject('pageURL')` (see ./page.ts).
 */
import type { TestProject } from 'vitest/node';
// @ts-expect-error plain ESM config module without types
import { bundleForBrowser } from '../../esbuild.config.mjs';
import { launchChrome } from '../../src/node/chrome.js';
import { modulePage, serveFiles, type ServedFiles } from '../../src/node/static-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    browserWSEndpoint: string;
    pageURL: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const files: ServedFiles = new Map();
  files.set('/index.html', { body: modulePage(), type: 'text/html' });
  files.set('/entry.js', { body: await bundleForBrowser('test/browser/entry.ts'), type: 'text/javascript' });
  const server = await serveFiles(files);
  const browser = await launchChrome();
  project.provide('browserWSEndpoint', browser.wsEndpoint());
  project.provide('pageURL', server.url);
  return async () => {
    await browser.close();
    await server.close();
  };
}
