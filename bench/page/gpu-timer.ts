/**
 * GPU time of whatever is encoded between {@link PassTimer.begin} and {@link PassTimer.end}, from
 * `timestamp-query`: two empty compute passes carry the timestamp writes (the dispatcher begins
 * its own pass, so the timestamps cannot go on that pass), one before and one after the work.
 */
export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly readable: GPUBuffer;

  /** Bytes of the buffers the timer holds (counted in the fused path's memory). */
  static readonly BYTES = 32;

  constructor(device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    this.resolved = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readable = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** Encode the start timestamp. */
  begin(encoder: GPUCommandEncoder): void {
    encoder.beginComputePass({ label: 'bench t0', timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0 } }).end();
  }

  /** Encode the end timestamp and the copy that makes both readable. */
  end(encoder: GPUCommandEncoder): void {
    encoder.beginComputePass({ label: 'bench t1', timestampWrites: { querySet: this.querySet, endOfPassWriteIndex: 1 } }).end();
    encoder.resolveQuerySet(this.querySet, 0, 2, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, this.readable, 0, 16);
  }

  /** Milliseconds between the two timestamps of the last submitted begin/end (after it was submitted). */
  async read(): Promise<number> {
    await this.readable.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(this.readable.getMappedRange().slice(0));
    this.readable.unmap();
    return Number(t[1]! - t[0]!) / 1e6;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolved.destroy();
    this.readable.destroy();
  }
}
