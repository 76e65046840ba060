/**
 * `npm run demo:jax`: bundle examples/jax/page.ts, serve it on 127.0.0.1, run it in headless
 * Chromium (WebGPU on), print the result and write `results.json` and `screenshot.png` here.
 * Flags: --steps N, --batch N, --seed N, --temperature T, --lr R, --serve (serve the page for
 * a WebGPU browser instead: open the printed URL and press Start).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain ESM config module without types
import { bundleForBrowser } from '../../esbuild.config.mjs';
import { launchChrome } from '../../src/chromium/chrome.js';
import { callInPage, waitForPage } from '../../src/chromium/page-call.js';
import { modulePage, serveFiles, type ServedFiles } from '../../src/chromium/static-server.js';
import type { JaxDemoConfig, JaxDemoResults } from './page.js';

const FLAGS: Record<string, keyof JaxDemoConfig> = { '--steps': 'steps', '--batch': 'batch', '--seed': 'seed', '--temperature': 'temperature', '--lr': 'learningRate' };

function parseArgs(argv: string[]): { config: Partial<JaxDemoConfig>; serve: boolean } {
  const config: Partial<JaxDemoConfig> = {};
  let serve = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--serve') serve = true;
    else if (FLAGS[a]) {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      config[FLAGS[a]!] = v;
    } else throw new Error(`unknown flag ${a} (flags: ${Object.keys(FLAGS).join(', ')}, --serve)`);
  }
  return { config, serve };
}

/** Run the example; `demoDir` is this folder (where results go). */
export async function main(demoDir: string, argv: string[]): Promise<void> {
  const { config, serve } = parseArgs(argv);
  const files: ServedFiles = new Map();
  files.set('/index.html', { body: modulePage('/demo.js', 'webgpu-contrastive × jax-js'), type: 'text/html' });
  files.set('/demo.js', { body: await bundleForBrowser(join(demoDir, 'page.ts')), type: 'text/javascript' });
  files.set('/favicon.ico', { body: new Uint8Array(0), type: 'image/x-icon' });
  const server = await serveFiles(files);
  if (serve) {
    console.log(`[jax demo] open ${server.url} in a WebGPU browser and press Start (Ctrl-C to stop)`);
    return;
  }
  const browser = await launchChrome();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 820, height: 560 });
    page.on('pageerror', (e) => console.error('[page error]', e));
    await page.goto(server.url);
    await waitForPage(page);
    const results = (await callInPage(page, 'runDemo', config)) as JaxDemoResults;
    writeFileSync(join(demoDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    await page.screenshot({ path: join(demoDir, 'screenshot.png') as `${string}.png`, fullPage: true });
    const first = results.losses[0]!;
    const last = results.losses.at(-1)!;
    console.log(`[jax demo] ${results.adapter}: ${results.config.steps} steps at batch ${results.config.batch}, ${results.msPerStep.toFixed(0)} ms/step`);
    console.log(`[jax demo] DCL loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}; 1-NN accuracy: raw inputs ${(100 * results.accuracyRaw).toFixed(1)} %, encoder ${(100 * results.accuracyBefore).toFixed(1)} % → ${(100 * results.accuracyAfter).toFixed(1)} %`);
    console.log(`[jax demo] wrote ${join(demoDir, 'results.json')} and ${join(demoDir, 'screenshot.png')}`);
  } finally {
    await browser.close();
    await server.close();
  }
}
