/**
 * The `NegativeQueue` from tfjs: enqueue a tensor of keys (MoCo's momentum-encoder outputs)
 * without leaving the GPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NegativeQueue } from '../negative-queue.js';
import { activeWebGPUBackend, flushBackend, toThisGPU } from './backend.js';

/**
 * Write the rows of `keys` (n×D float32, D the queue's width) over the queue's n oldest rows,
 * on the GPU: tfjs's pending work (the one computing `keys`) is submitted first, then one
 * copy. Call it after the step's loss (MoCo: the loss sees the queue before this step's keys).
 * The queue must live on the active `webgpu` backend's device.
 */
export function enqueueKeys(queue: NegativeQueue, keys: tf.Tensor2D): void {
  const backend = activeWebGPUBackend('enqueueKeys');
  if (!(keys instanceof tf.Tensor) || keys.rank !== 2 || keys.shape[1] !== queue.d) {
    throw new RangeError(`enqueueKeys: keys must be an n×D tensor with D = ${queue.d} (the queue's width), got shape [${(keys as tf.Tensor)?.shape}]`);
  }
  if (keys.dtype !== 'float32') throw new TypeError(`enqueueKeys: keys must be float32, got ${keys.dtype}`);
  if (queue.device !== backend.device) throw new RangeError("enqueueKeys: the queue lives on another device than tfjs's webgpu backend");
  toThisGPU(backend, keys);
  const ref = keys.dataToGPU();
  try {
    if (!ref.buffer) throw new Error('enqueueKeys: the webgpu backend returned no GPUBuffer for the keys');
    flushBackend(backend);
    const encoder = backend.device.createCommandEncoder({ label: 'webgpu-contrastive enqueueKeys' });
    queue.enqueue(encoder, ref.buffer, keys.shape[0]);
    backend.device.queue.submit([encoder.finish()]);
  } finally {
    ref.tensorRef.dispose(); // after our submit: tfjs reuses the buffer only for later work
  }
}
