/**
 * Lifetime of the buffers the dispatcher owns (not the outputs it hands over: the caller owns
 * those). The one rule: **a buffer lives, unchanged, until the GPU is done with the work that
 * uses it.** The dispatcher cannot learn when that is — the caller submits `encode`'s work
 * whenever it likes, any number of encodes later — so:
 *
 * 1. Nothing an encode binds is ever destroyed while the dispatcher lives. A cache past its cap
 *    *drops* its least recently used entry: it stops holding and counting it, but never calls
 *    `destroy()`. WebGPU keeps a buffer alive while a bind group or command buffer references
 *    it and frees it when the last reference goes (garbage collection), so encoded but not yet
 *    submitted work stays valid, and memory stays bounded by the caps plus what the caller's
 *    own unsubmitted work still references.
 * 2. No buffer an encode binds is ever rewritten. Constant (uniform) buffers are keyed by their
 *    content and written once, by `queue.writeBuffer` right after creation; a different value
 *    gets a different buffer. (`writeBuffer` runs on the queue before the caller's later
 *    submit, so rewriting one would change work already encoded.)
 * 3. Workspace (scratch) buffers are shared by every encode of one shape, keyed by (N, ⌈D/4⌉):
 *    each encode's passes write every scratch value before reading it, in command order, and
 *    command buffers run one after another in submission order, so encodes of one shape can
 *    never see each other's scratch — whatever the order of encoders and submits.
 * 4. `destroy()` destroys everything held, and what was dropped and is still reachable: after
 *    it, work encoded earlier and not yet submitted is invalid (submit before destroying).
 */
import type { TrackedBuffers } from './gpu-memory.js';

const COPY_DST = 0x0008;

/** Distinct shapes whose workspace is held at once. */
export const WORKSPACE_SHAPES = 8;
/** Distinct constant buffers held at once (each 4–32 bytes). */
export const CONSTANT_ENTRIES = 512;

/** Holds the per-shape workspaces and the content-keyed constants; see the rules above. */
export class BufferLifetimes {
  /** Insertion order is recency order (a hit is re-inserted). */
  private readonly workspaces = new Map<string, Record<string, GPUBuffer>>();
  private readonly constants = new Map<string, GPUBuffer>();
  /** Dropped buffers, so that destroy() can still destroy those not yet collected. */
  private dropped: WeakRef<GPUBuffer>[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly tracked: TrackedBuffers,
  ) {}

  /** The workspace of shape `key`, with one buffer per entry of `bytes` (usage `usage`). */
  workspaceFor<K extends string>(key: string, bytes: Readonly<Record<K, number>>, usage: number): Record<K, GPUBuffer> {
    const hit = touch(this.workspaces, key);
    if (hit) return hit as Record<K, GPUBuffer>;
    if (this.workspaces.size >= WORKSPACE_SHAPES) this.drop(this.workspaces, (ws) => Object.values(ws));
    const buffers = {} as Record<K, GPUBuffer>;
    for (const name of Object.keys(bytes) as K[]) buffers[name] = this.tracked.create(`${name} ${key}`, bytes[name], usage);
    this.workspaces.set(key, buffers);
    return buffers;
  }

  /** A small constant buffer holding `data`, created and written once per distinct content. */
  constant(kind: string, data: Uint32Array | Float32Array, usage: number): GPUBuffer {
    const key = `${kind}:${usage}:${Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length)).join(',')}`;
    const hit = touch(this.constants, key);
    if (hit) return hit;
    if (this.constants.size >= CONSTANT_ENTRIES) this.drop(this.constants, (b) => [b]);
    const buf = this.tracked.create(`${kind} constants`, data.byteLength, usage | COPY_DST);
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    this.constants.set(key, buf);
    return buf;
  }

  /** Destroy every buffer held, and every dropped one still reachable. */
  destroyAll(): void {
    for (const ws of this.workspaces.values()) for (const b of Object.values(ws)) this.tracked.destroy(b);
    for (const b of this.constants.values()) this.tracked.destroy(b);
    for (const ref of this.dropped) ref.deref()?.destroy();
    this.workspaces.clear();
    this.constants.clear();
    this.dropped = [];
  }

  /** Stop holding the least recently used entry of `cache` (never destroyed: rule 1). */
  private drop<V>(cache: Map<string, V>, buffersOf: (v: V) => GPUBuffer[]): void {
    const [oldKey, old] = cache.entries().next().value as [string, V];
    cache.delete(oldKey);
    for (const b of buffersOf(old)) {
      this.tracked.release(b);
      this.dropped.push(new WeakRef(b));
    }
    // Forget references the garbage collector has already cleared, so the list stays short.
    if (this.dropped.length > 4 * CONSTANT_ENTRIES) this.dropped = this.dropped.filter((r) => r.deref() !== undefined);
  }
}

/** The entry for `key`, marked most recently used; undefined when absent. */
function touch<V>(cache: Map<string, V>, key: string): V | undefined {
  const v = cache.get(key);
  if (v !== undefined) {
    cache.delete(key);
    cache.set(key, v);
  }
  return v;
}
