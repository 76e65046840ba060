/**
 * Compile every kernel of src/kernels.ts once per device. The async form (`createComputePipelineAsync`,
 * compile errors as exceptions with the compiler's messages) and the sync form (for adapters whose
 * ops must return synchronously; compile errors surface as device validation errors) share one body.
 */
import { KERNELS, type KernelName, type KernelSpec } from './kernels.js';

/** One compute pipeline per kernel. */
export type Pipelines = Readonly<Record<KernelName, GPUComputePipeline>>;

const COMPUTE_STAGE = 0x4; // GPUShaderStage.COMPUTE (the global is absent in Node)

function descriptor(device: GPUDevice, spec: KernelSpec): { module: GPUShaderModule; desc: GPUComputePipelineDescriptor } {
  const module = device.createShaderModule({ label: spec.name, code: spec.source });
  const layout = device.createBindGroupLayout({
    label: spec.name,
    entries: spec.bindings.map((type, binding) => ({ binding, visibility: COMPUTE_STAGE, buffer: { type } })),
  });
  return {
    module,
    desc: {
      label: spec.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    },
  };
}

const entries = () => Object.entries(KERNELS) as [KernelName, KernelSpec][];

/**
 * Compile all kernels concurrently (on a software adapter each takes seconds). `onCompiled(done,
 * total)` is called once before the first compile finishes (done = 0) and once per finished one.
 */
export async function compilePipelines(device: GPUDevice, onCompiled?: (done: number, total: number) => void): Promise<Pipelines> {
  const all = entries();
  let done = 0;
  onCompiled?.(0, all.length);
  const compiled = await Promise.all(
    all.map(async ([key, spec]) => {
      const { module, desc } = descriptor(device, spec);
      let pipeline: GPUComputePipeline;
      try {
        pipeline = await device.createComputePipelineAsync(desc);
      } catch (e) {
        const info = await module.getCompilationInfo();
        const msgs = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
        throw new Error(`kernel ${spec.name} failed to compile: ${(e as Error).message}\n${msgs}`);
      }
      onCompiled?.(++done, all.length); // outside the try: a throwing callback is not a compile error
      return [key, pipeline] as const;
    }),
  );
  return Object.fromEntries(compiled) as Pipelines;
}

/** Compile all kernels synchronously; a kernel that fails shows up as a device validation error. */
export function compilePipelinesSync(device: GPUDevice): Pipelines {
  return Object.fromEntries(entries().map(([key, spec]) => [key, device.createComputePipeline(descriptor(device, spec).desc)])) as Pipelines;
}
