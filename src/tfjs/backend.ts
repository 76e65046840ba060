/**
 * The few things every tfjs adapter function needs from tfjs's `webgpu` backend: the backend
 * itself (or a clear error), its pending commands flushed, a tensor's data on its GPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** The active backend if it is tfjs's `webgpu` backend; throws a clear error otherwise. */
export function activeWebGPUBackend(what: string): WebGPUBackend {
  const name = tf.getBackend();
  const backend = tf.backend() as Partial<WebGPUBackend> | undefined;
  if (name !== 'webgpu' || !backend || !backend.device || typeof backend.readToGPU !== 'function') {
    throw new Error(
      `${what} needs the TensorFlow.js 'webgpu' backend (import '@tensorflow/tfjs-backend-webgpu' and ` +
        `await tf.setBackend('webgpu')); the active backend is '${name ?? 'none'}'.`,
    );
  }
  return backend as WebGPUBackend;
}

/** Submit whatever tfjs has batched in its own command encoder (public backend methods). */
export function flushBackend(backend: WebGPUBackend): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
}

/** Make sure a tensor's data lives on this backend's GPU (moving or uploading it if not). */
export function toThisGPU(backend: WebGPUBackend, t: tf.Tensor): void {
  if (!backend.tensorMap.has(t.dataId)) tf.engine().moveData(backend, t.dataId);
  backend.uploadToGPU(t.dataId);
}

