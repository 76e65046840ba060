/**
 * Buffer creation with byte accounting, so the dispatcher can report what the fused path holds
 * (current and peak bytes) and destroy everything it made.
 */

/** Creates and tracks GPU buffers for one owner. */
export class TrackedBuffers {
  private live = new Set<GPUBuffer>();
  private bytes = 0;
  private peak = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Create a buffer (size rounded up to 4 bytes, at least 4) and count it. */
  create(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const buf = this.device.createBuffer({ label, size: Math.max(4, Math.ceil(size / 4) * 4), usage });
    this.live.add(buf);
    this.bytes += buf.size;
    this.peak = Math.max(this.peak, this.bytes);
    return buf;
  }

  /** Destroy one tracked buffer (no-op for buffers this tracker did not make). */
  destroy(buf: GPUBuffer): void {
    if (!this.live.delete(buf)) return;
    this.bytes -= buf.size;
    buf.destroy();
  }

  /** Stop tracking a buffer handed over to a caller, who now owns and destroys it. */
  release(buf: GPUBuffer): void {
    if (this.live.delete(buf)) this.bytes -= buf.size;
  }

  /** Destroy every tracked buffer. */
  destroyAll(): void {
    for (const b of this.live) b.destroy();
    this.live.clear();
    this.bytes = 0;
  }

  /** Bytes currently held. */
  get currentBytes(): number {
    return this.bytes;
  }

  /** Most bytes held at once since creation or the last {@link resetPeak}. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Restart peak tracking from the current holding. */
  resetPeak(): void {
    this.peak = this.bytes;
  }

  /** Number of live buffers. */
  get count(): number {
    return this.live.size;
  }
}
