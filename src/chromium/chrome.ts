/**
 * Finding and launching a headless Chromium with WebGPU enabled (Node only). Used by the test
 * harness, the CLI, `npm start` and the benchmarks, so they all run on the same flags.
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Where Chromium or Chrome usually lives, checked in order after `CHROME_PATH`. */
export const STANDARD_CHROME_PATHS: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** Path of a Chromium executable: `CHROME_PATH` if set, else the first standard path that exists. */
export function findChrome(): string {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROME_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  const found = STANDARD_CHROME_PATHS.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'No Chromium found. Set CHROME_PATH, or install it: `apt-get update && apt-get install -y chromium` ' +
        `(looked in ${STANDARD_CHROME_PATHS.join(', ')})`,
    );
  }
  return found;
}

/** Flags that give headless Chromium a WebGPU adapter, SwiftShader (CPU Vulkan) when no GPU is present. */
export const WEBGPU_FLAGS: readonly string[] = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Launch headless Chromium with WebGPU flags and a fresh profile directory (removed when it closes). */
export async function launchChrome(extraArgs: string[] = []): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'webgpu-contrastive-chrome-'));
  const removeProfile = () => {
    try {
      rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort: a leftover temporary profile is harmless
    }
  };
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: findChrome(),
      headless: true,
      args: [...WEBGPU_FLAGS, `--user-data-dir=${userDataDir}`, ...extraArgs],
      protocolTimeout: 30 * 60_000,
    });
  } catch (e) {
    removeProfile();
    throw e;
  }
  // Once Chromium has exited, nothing writes to its profile any more.
  const child = browser.process();
  if (child?.exitCode === null && child.signalCode === null) child.once('exit', removeProfile);
  else if (child) removeProfile();
  return browser;
}
