/**
 * One shared test body, two runtimes. `openRuntime(name)` returns a typed `call(name, ...args)`
 * into the page functions of `test/browser/entry.ts`:
 *   - 'chromium': RPC into the test page of the run's headless Chromium (./page.ts);
 *   - 'node': the same functions imported into this Node process, with Dawn (npm `webgpu`) as
 *     `navigator.gpu`, so a page function's `navigator.gpu.requestAdapter()` gets a Dawn adapter.
 * A page function therefore must use only `navigator.gpu` and the device, no DOM.
 * Arguments are structured-cloned on the Node path so a function sees copies, as through RPC.
 */
import type { PageApi } from '../browser/entry.js';
import { loadDawn, requestNodeDevice } from '../../src/runtime/node.js';
import { openPage } from './page.js';

/** The runtimes a GPU test can run on. */
export type TestRuntimeName = 'chromium' | 'node';

/** Typed calls into the test page functions, wherever they run. */
export interface TestRuntime {
  name: TestRuntimeName;
  call<K extends keyof PageApi & string>(name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>>;
  close(): Promise<void>;
}

/** Give this Node process a `navigator.gpu` backed by Dawn (and WebGPU's globals). Idempotent. */
export async function installDawnNavigator(): Promise<void> {
  const gpu = await loadDawn();
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu === gpu) return;
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  // Fail here, with the runtime's explanation, rather than inside the first page function.
  const probe = await requestNodeDevice();
  probe.device.destroy();
}

/** Open `name`; close it in afterAll. */
export async function openRuntime(name: TestRuntimeName): Promise<TestRuntime> {
  if (name === 'chromium') {
    const page = await openPage();
    return { name, call: page.call, close: page.close };
  }
  await installDawnNavigator();
  const { pageFunctions } = await import('../browser/entry.js');
  const fns = pageFunctions as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    name,
    call: async (fn, ...args) => {
      const f = fns[fn];
      if (!f) throw new Error(`test/browser/entry.ts has no page function ${fn}`);
      return (await f(...structuredClone(args))) as never;
    },
    close: async () => undefined,
  };
}
