/**
 * Bind groups reused across calls: a training loop encodes the same passes over the same
 * buffers every step, and creating a bind group per pass per call is most of the dispatcher's
 * fixed CPU cost on a fast GPU. A bind group is keyed by its pipeline and the identity of each
 * buffer it binds (whole-buffer bindings only), so a hit binds exactly what a fresh one would.
 *
 * Lifetime: a cached bind group references its buffers, which WebGPU then keeps alive until the
 * entry is dropped (least recently used, past {@link BIND_GROUP_ENTRIES}) and collected; a
 * buffer the caller destroys makes any bind group over it invalid, cached or new alike.
 */

/** Bind groups held at once per dispatcher (a call uses about seven). */
export const BIND_GROUP_ENTRIES = 256;

export class BindGroupCache {
  /** Insertion order is recency order (a hit is re-inserted). */
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly layouts = new Map<GPUComputePipeline, GPUBindGroupLayout>();
  /** A number per buffer object, never reused (a collected buffer's number goes with it). */
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;

  constructor(private readonly device: GPUDevice) {}

  /** The bind group of `pipeline`'s group 0 with `buffers` at bindings 0, 1, …. */
  get(pipeline: GPUComputePipeline, name: string, buffers: readonly GPUBuffer[]): GPUBindGroup {
    const key = `${name}:${buffers.map((b) => this.idOf(b)).join(',')}`;
    const hit = this.groups.get(key);
    if (hit) {
      this.groups.delete(key);
      this.groups.set(key, hit);
      return hit;
    }
    let layout = this.layouts.get(pipeline);
    if (!layout) this.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
    const group = this.device.createBindGroup({ layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
    if (this.groups.size >= BIND_GROUP_ENTRIES) this.groups.delete(this.groups.keys().next().value as string);
    this.groups.set(key, group);
    return group;
  }

  /** Forget every bind group (so their buffers can be collected). */
  clear(): void {
    this.groups.clear();
  }

  private idOf(buffer: GPUBuffer): number {
    let id = this.ids.get(buffer);
    if (id === undefined) this.ids.set(buffer, (id = this.nextId++));
    return id;
  }
}
