/**
 * The dispatcher's bind-group layouts (KERNELS[k].bindings in src/kernels.ts) against the WGSL
 * they are used with, by reflection (wgsl_reflect): every group-0 binding of the source with
 * the matching buffer type, nothing missing, nothing extra, and a compute entry point `main`
 * that uses every binding. A mismatch would otherwise surface only as a pipeline-creation
 * error on a real device.
 */
import { describe, expect, it } from 'vitest';
import { ResourceType, WgslReflect, loadKernels } from './support/cpu-pipeline.js';

/** What a WGSL resource declaration needs as a GPUBufferBindingType, or why it cannot be one. */
function bufferTypeOf(v: { resourceType: number; access: string }): GPUBufferBindingType | string {
  if (v.resourceType === ResourceType.Uniform) return 'uniform';
  if (v.resourceType === ResourceType.Storage) return v.access === 'read_write' ? 'storage' : v.access === 'read' ? 'read-only-storage' : `storage with access ${v.access}`;
  return `a non-buffer resource (${ResourceType[v.resourceType]})`;
}

/**
 * Every disagreement between a binding table (`bindings[i]` = type of `@group(0) @binding(i)`)
 * and the WGSL `source`, one sentence each; empty when they agree.
 */
function bindingMismatches(source: string, bindings: readonly GPUBufferBindingType[]): string[] {
  const reflect = new WgslReflect(source);
  const problems: string[] = [];
  const declared = [...reflect.uniforms, ...reflect.storage, ...reflect.textures, ...reflect.samplers];
  for (const v of declared) {
    if (v.group !== 0) problems.push(`${v.name} is in @group(${v.group}); the dispatcher binds group 0 only`);
  }
  const group0 = new Map(declared.filter((v) => v.group === 0).map((v) => [v.binding, v]));
  for (const [binding, v] of group0) {
    const want = bufferTypeOf(v);
    if (binding >= bindings.length) problems.push(`@binding(${binding}) ${v.name} (${want}) is missing from the table`);
    else if (bindings[binding] !== want) problems.push(`@binding(${binding}) ${v.name} is ${want} in WGSL but '${bindings[binding]}' in the table`);
  }
  bindings.forEach((type, binding) => {
    if (!group0.has(binding)) problems.push(`the table has @binding(${binding}) ('${type}') that the WGSL does not declare`);
  });
  const main = reflect.entry.compute.find((f) => f.name === 'main');
  if (!main) {
    const stages = [...reflect.entry.vertex, ...reflect.entry.fragment].filter((f) => f.name === 'main');
    problems.push(stages.length > 0 ? `main is a ${stages[0]!.stage} entry point, not compute` : 'no entry point main');
  } else {
    const used = new Set(main.resources.filter((v) => v.group === 0).map((v) => v.binding));
    for (const [binding, v] of group0) if (!used.has(binding)) problems.push(`main never uses @binding(${binding}) ${v.name}`);
  }
  return problems;
}

describe('bind-group layouts agree with the WGSL', async () => {
  const { KERNELS } = await loadKernels();
  for (const [key, spec] of Object.entries(KERNELS)) {
    it(`${key} (${spec.name}.wgsl): [${spec.bindings.join(', ')}]`, () => {
      expect(bindingMismatches(spec.source, spec.bindings)).toEqual([]);
      const main = new WgslReflect(spec.source).entry.compute.find((f) => f.name === 'main');
      expect(main?.stage).toBe('compute');
    });
  }
});

describe('bindingMismatches catches a wrong table', () => {
  const source = `
    @group(0) @binding(0) var<uniform> params: vec4<u32>;
    @group(0) @binding(1) var<storage, read> x: array<f32>;
    @group(0) @binding(2) var<storage, read_write> y: array<f32>;
    @compute @workgroup_size(64)
    fn main(@builtin(global_invocation_id) id: vec3<u32>) {
      if (id.x < params.x) { y[id.x] = 2.0 * x[id.x]; }
    }`;
  const right: GPUBufferBindingType[] = ['uniform', 'read-only-storage', 'storage'];

  it('accepts the right table', () => {
    expect(bindingMismatches(source, right)).toEqual([]);
  });
  it('a storage binding declared read-only in the table', () => {
    expect(bindingMismatches(source, ['uniform', 'read-only-storage', 'read-only-storage'])).toEqual([
      "@binding(2) y is storage in WGSL but 'read-only-storage' in the table",
    ]);
  });
  it('a read-only binding declared writable, and uniform ↔ storage', () => {
    expect(bindingMismatches(source, ['read-only-storage', 'storage', 'storage'])).toEqual([
      "@binding(0) params is uniform in WGSL but 'read-only-storage' in the table",
      "@binding(1) x is read-only-storage in WGSL but 'storage' in the table",
    ]);
  });
  it('a missing binding', () => {
    expect(bindingMismatches(source, right.slice(0, 2))).toEqual(['@binding(2) y (storage) is missing from the table']);
  });
  it('an extra binding', () => {
    expect(bindingMismatches(source, [...right, 'storage'])).toEqual([
      "the table has @binding(3) ('storage') that the WGSL does not declare",
    ]);
  });
  it('each real kernel against a tampered copy of its own table', async () => {
    const { KERNELS } = await loadKernels();
    for (const spec of Object.values(KERNELS)) {
      const last = spec.bindings.length - 1;
      const flipped = spec.bindings.map((t, i) => (i === last ? (t === 'storage' ? 'read-only-storage' : 'storage') : t));
      expect(bindingMismatches(spec.source, flipped), spec.name).toHaveLength(1);
      expect(bindingMismatches(spec.source, spec.bindings.slice(0, last)), spec.name).toHaveLength(1);
    }
  });
  it('no compute entry point main, and an unused binding', () => {
    expect(bindingMismatches(source.replace('fn main(', 'fn run('), right)).toEqual(['no entry point main']);
    const unused = source.replace('2.0 * x[id.x]', '2.0');
    expect(bindingMismatches(unused, right)).toEqual(['main never uses @binding(1) x']);
  });
});
