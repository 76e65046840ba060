/**
 * The dispatcher's internals, in one place for this repository's tests, bench and adapters: not
 * part of the package's public API (not in package.json `exports`, not built into dist/ as an
 * entry), free to change in any release. Users import from the main entry (src/index.ts).
 */
export { KERNELS, TILES } from './kernels.js';
export type { KernelSpec, KernelName } from './kernels.js';
export { resolveOptions, checkBank, isGpuBank, OPTION_SCHEMA, OPTION_RULES } from './options.js';
export type { ResolvedLossOptions, OptionSpec } from './options.js';
export { checkViews } from './validate.js';
export { WORKSPACE_SHAPES, CONSTANT_ENTRIES } from './lifetime.js';
