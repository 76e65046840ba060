/**
 * Lifetime of the buffers the dispatcher owns: the per-shape workspace and the small
 * content-keyed constant buffers that encoded passes bind.
 */
import type { TrackedBuffers } from './gpu-memory.js';

/** Holds the workspace and constants; creates them through a {@link TrackedBuffers}. */
export class BufferLifetimes {
  private workspace: { key: string; buffers: Record<string, GPUBuffer> } | undefined;
  /**
   * Small uniform/scalar buffers, keyed by content, so a later writeBuffer never changes one that
   * an encoded but unsubmitted pass uses. Least recently used past 256 are destroyed.
   */
  private readonly constants = new Map<string, GPUBuffer>();

  constructor(
    private readonly device: GPUDevice,
    private readonly tracked: TrackedBuffers,
  ) {}

  /** The workspace of shape `key`, with one buffer per entry of `bytes` (usage `usage`). */
  workspaceFor<K extends string>(key: string, bytes: Readonly<Record<K, number>>, usage: number): Record<K, GPUBuffer> {
    if (this.workspace?.key === key) return this.workspace.buffers as Record<K, GPUBuffer>;
    if (this.workspace) for (const b of Object.values(this.workspace.buffers)) this.tracked.destroy(b);
    const buffers = {} as Record<K, GPUBuffer>;
    for (const name of Object.keys(bytes) as K[]) buffers[name] = this.tracked.create(name, bytes[name], usage);
    this.workspace = { key, buffers };
    return buffers;
  }

  /** A small constant buffer holding `data`, created (and written) once per distinct content. */
  constant(kind: string, data: Uint32Array | Float32Array, usage: number): GPUBuffer {
    const key = `${kind}:${usage}:${Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length)).join(',')}`;
    let buf = this.constants.get(key);
    if (buf) {
      // Least recently used goes first: re-insert to mark as fresh.
      this.constants.delete(key);
      this.constants.set(key, buf);
    } else {
      if (this.constants.size >= 256) {
        const [oldKey, old] = this.constants.entries().next().value as [string, GPUBuffer];
        this.constants.delete(oldKey);
        this.tracked.destroy(old);
      }
      buf = this.tracked.create(`${kind} constants`, data.byteLength, usage | COPY_DST);
      this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      this.constants.set(key, buf);
    }
    return buf;
  }

  /** Forget everything (the tracker destroys the buffers). */
  clear(): void {
    this.constants.clear();
    this.workspace = undefined;
  }
}

const COPY_DST = 0x0008;
