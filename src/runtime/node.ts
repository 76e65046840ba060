/**
 * A GPUDevice in Node, from Dawn (the npm `webgpu` package, an optional dependency loaded only
 * here, only when asked). Adapter choice:
 *   1. the system's own driver — Vulkan on Linux, Metal on macOS, D3D12 on Windows (a real GPU);
 *   2. on Linux without one, Chromium's SwiftShader Vulkan driver (`vk_swiftshader_icd.json` and
 *      `libvulkan.so.1` beside the Chromium binary), a CPU implementation.
 * The Vulkan loader reads `VK_ICD_FILENAMES` and the library path once, at process start, so (2)
 * cannot be switched on from inside a running process: {@link swiftShaderEnv} gives the variables,
 * and a program either starts with them (vitest.config.ts sets them before its workers fork) or
 * relaunches itself with them ({@link relaunchWithSwiftShader}, what the CLI does).
 *
 * Nothing here is imported statically by a browser bundle's code path: Node built-ins and
 * `webgpu` come in through {@link nodeImport}, which bundlers leave alone.
 */
import { deviceFromGpu } from './browser.js';
import { NoAdapterError, type DeviceRequest, type RuntimeDevice } from './types.js';

/** `import(specifier)` that bundlers neither resolve nor inline (the specifier is not a literal). */
export function nodeImport<T = any>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

/** True in Node (and runtimes that present themselves as Node). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** Environment variable set on a relaunched process, so it never relaunches again. */
export const RELAUNCHED_ENV = 'WEBGPU_CONTRASTIVE_SWIFTSHADER_RELAUNCHED';

/** Directories where Chromium keeps `vk_swiftshader_icd.json` and `libvulkan.so.1`, in search order. */
export function swiftShaderDirs(env: Record<string, string | undefined> = process.env): string[] {
  const dirs: string[] = [];
  if (env.WEBGPU_CONTRASTIVE_SWIFTSHADER_DIR) dirs.push(env.WEBGPU_CONTRASTIVE_SWIFTSHADER_DIR);
  if (env.CHROME_PATH) dirs.push(env.CHROME_PATH.replace(/\/[^/]*$/, ''));
  dirs.push('/usr/lib/chromium', '/usr/lib/chromium-browser', '/opt/google/chrome', '/opt/chromium', '/snap/chromium/current/usr/lib/chromium-browser');
  return dirs;
}

/** Where a usable SwiftShader lies, or undefined. Synchronous: the CLI and vitest.config.ts use it at start. */
export function findSwiftShader(fs: { existsSync(p: string): boolean }, env: Record<string, string | undefined> = process.env): { dir: string; icd: string } | undefined {
  for (const dir of swiftShaderDirs(env)) {
    const icd = `${dir}/vk_swiftshader_icd.json`;
    if (fs.existsSync(icd) && fs.existsSync(`${dir}/libvulkan.so.1`)) return { dir, icd };
  }
  return undefined;
}

/**
 * The variables a process must start with to see Chromium's SwiftShader through Dawn:
 * `LD_LIBRARY_PATH` (for `libvulkan.so.1`) and `VK_ICD_FILENAMES`. Undefined when not on Linux or
 * no Chromium SwiftShader is installed.
 */
export function swiftShaderEnv(
  fs: { existsSync(p: string): boolean },
  env: Record<string, string | undefined> = process.env,
): { LD_LIBRARY_PATH: string; VK_ICD_FILENAMES: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  const found = findSwiftShader(fs, env);
  if (!found) return undefined;
  const libPath = env.LD_LIBRARY_PATH ? `${found.dir}:${env.LD_LIBRARY_PATH}` : found.dir;
  return { LD_LIBRARY_PATH: libPath, VK_ICD_FILENAMES: found.icd };
}

/** Whether the system's Vulkan loader (`libvulkan.so.1`) is installed where the dynamic linker looks. */
export function systemVulkanLoaderPresent(fs: { existsSync(p: string): boolean }, env: Record<string, string | undefined> = process.env): boolean {
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib'];
  return dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
}

/** True when this process was started with SwiftShader's ICD selected. */
export function startedWithSwiftShader(env: Record<string, string | undefined> = process.env): boolean {
  return /vk_swiftshader_icd\.json$/.test(env.VK_ICD_FILENAMES ?? '');
}

type WebGpuModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };
let dawn: { module: WebGpuModule; gpu: GPU } | undefined;

/**
 * Load Dawn (npm `webgpu`) once, put its WebGPU globals (`GPUBufferUsage`, `GPUMapMode`, …) on
 * `globalThis` where missing, and return its `GPU` object (kept alive for the process).
 */
export async function loadDawn(): Promise<GPU> {
  if (dawn) return dawn.gpu;
  let module: WebGpuModule;
  try {
    module = await nodeImport<WebGpuModule>('webgpu');
  } catch (e) {
    throw new NoAdapterError(
      "WebGPU in Node needs the npm package 'webgpu' (Dawn), an optional dependency of webgpu-contrastive: " +
        `npm install webgpu (${(e as Error).message.split('\n')[0]})`,
      ["npm package 'webgpu': not installed"],
    );
  }
  for (const [name, value] of Object.entries(module.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  dawn = { module, gpu: module.create([]) };
  return dawn.gpu;
}

/**
 * Give this Node process a `navigator.gpu` backed by Dawn (and WebGPU's globals), so code
 * written for a page (`navigator.gpu.requestAdapter()`) runs unchanged: the test harness's Node
 * runtime and `npm run bench -- --runtime node`. Idempotent. Throws {@link NoAdapterError} here,
 * with its explanation, when Dawn offers no adapter.
 */
export async function installDawnNavigator(): Promise<GPU> {
  const gpu = await loadDawn();
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu === gpu) return gpu;
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const probe = await requestNodeDevice();
  probe.device.destroy();
  return gpu;
}

/**
 * A device in Node on Dawn: the system driver first, SwiftShader when the process started with
 * {@link swiftShaderEnv}. Throws {@link NoAdapterError} naming what was tried and what to do.
 */
export async function requestNodeDevice(request: DeviceRequest = {}): Promise<RuntimeDevice> {
  const gpu = await loadDawn();
  const got = await deviceFromGpu(gpu, { powerPreference: request.powerPreference ?? 'high-performance' });
  if (got) return { ...got, runtime: 'node', source: startedWithSwiftShader() ? 'swiftshader' : 'system' };
  const fs = await nodeImport<typeof import('node:fs')>('node:fs');
  const system = { linux: 'Vulkan', darwin: 'Metal', win32: 'D3D12' }[process.platform as string] ?? 'native';
  const tried = [`Dawn (npm 'webgpu') on the system's ${system} drivers: no adapter`];
  const found = process.platform === 'linux' ? findSwiftShader(fs) : undefined;
  let advice: string;
  if (startedWithSwiftShader()) {
    tried.push(`SwiftShader (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}): no adapter`);
    advice = 'check that LD_LIBRARY_PATH names the directory holding Chromium\'s libvulkan.so.1';
  } else if (found) {
    tried.push(`Chromium's SwiftShader at ${found.dir}: found, but this process did not start with it selected`);
    advice =
      `start the process with LD_LIBRARY_PATH=${found.dir} VK_ICD_FILENAMES=${found.icd} ` +
      '(the Vulkan loader reads them only at start; the webgpu-contrastive command does this by itself)';
  } else {
    if (process.platform === 'linux') tried.push(`Chromium's SwiftShader: not found in ${swiftShaderDirs().join(', ')}`);
    advice =
      process.platform === 'linux'
        ? 'install a Vulkan driver for your GPU (NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers), ' +
          'or Chromium for its CPU SwiftShader driver (apt-get install chromium). Mesa\'s lavapipe is refused by Dawn'
        : `install or update the ${system} driver of your GPU`;
  }
  throw new NoAdapterError(`no WebGPU adapter in Node. Tried: ${tried.join('; ')}. To fix: ${advice}.`, tried);
}

/**
 * Whether Dawn finds an adapter in this process as started. On Linux without a system
 * `libvulkan.so.1` the answer is no without loading Dawn (which would print a loader warning).
 */
export async function systemAdapterAvailable(fs: { existsSync(p: string): boolean }): Promise<boolean> {
  if (process.platform === 'linux' && !systemVulkanLoaderPresent(fs)) return false;
  try {
    return (await (await loadDawn()).requestAdapter()) !== null;
  } catch {
    return false; // no Dawn: requestNodeDevice will say so
  }
}

/**
 * When this Linux process has no adapter of its own and has not selected SwiftShader yet, run
 * `process.argv` again in a child with {@link swiftShaderEnv} set, inheriting stdio; resolves to
 * its exit status. Resolves to undefined when no relaunch is needed or possible (the caller then
 * goes on in this process and gets {@link requestNodeDevice}'s error if there is no adapter).
 */
export async function relaunchWithSwiftShader(): Promise<number | undefined> {
  if (!isNode() || process.platform !== 'linux' || process.env[RELAUNCHED_ENV] || startedWithSwiftShader()) return undefined;
  const fs = await nodeImport<typeof import('node:fs')>('node:fs');
  const env = swiftShaderEnv(fs);
  if (!env) return undefined;
  if (await systemAdapterAvailable(fs)) return undefined; // a real driver: use it in this process
  const { spawn } = await nodeImport<typeof import('node:child_process')>('node:child_process');
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...env, [RELAUNCHED_ENV]: '1' },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const { constants } = await nodeImport<typeof import('node:os')>('node:os');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    // A child ended by a signal: the shell's convention, 128 + the signal's number.
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
  });
}
