/**
 * Peak GPU memory of the tfjs path, from the WebGPU backend's buffer manager: every tfjs GPU
 * buffer (tensors, uniforms, staging for reads) is acquired through `bufferManager.acquireBuffer`,
 * which keeps `numBytesUsed` (buffers in use) and `numBytesAllocated` (in use + free ones pooled
 * for reuse). The acquire call is wrapped once to record the maxima of both.
 */
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

interface Counters {
  numBytesUsed: number;
  numBytesAllocated: number;
  acquireBuffer: (...args: unknown[]) => GPUBuffer;
}

/** Peak tracker over the buffer manager of one backend. */
export class TfjsPeakMemory {
  private peakUsed = 0;
  private peakAllocated = 0;
  private readonly manager: Counters;

  constructor(backend: WebGPUBackend) {
    this.manager = backend.bufferManager as unknown as Counters;
    const m = this.manager;
    const original = m.acquireBuffer.bind(m);
    m.acquireBuffer = (...args: unknown[]) => {
      const buf = original(...args);
      this.peakUsed = Math.max(this.peakUsed, m.numBytesUsed);
      this.peakAllocated = Math.max(this.peakAllocated, m.numBytesAllocated);
      return buf;
    };
    this.reset();
  }

  /** Restart the peaks from what is held now. */
  reset(): void {
    this.peakUsed = this.manager.numBytesUsed;
    this.peakAllocated = this.manager.numBytesAllocated;
  }

  /** Most bytes of tfjs GPU buffers in use at once since {@link reset}. */
  get used(): number {
    return this.peakUsed;
  }

  /** Most bytes tfjs had allocated from the device (in use + pooled) since {@link reset}. */
  get allocated(): number {
    return this.peakAllocated;
  }
}

let tracker: TfjsPeakMemory | undefined;
/** The page's one tracker (the wrapper is installed once). */
export function tfjsPeakMemory(backend: WebGPUBackend): TfjsPeakMemory {
  tracker ??= new TfjsPeakMemory(backend);
  return tracker;
}
