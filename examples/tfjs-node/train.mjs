// node train.mjs — the fused DCL loss inside a tfjs gradient step, in plain Node on Dawn.
import { register } from 'node:module';
register('./tfjs-resolve.mjs', import.meta.url); // before tfjs-core's ESM files are imported

const { installDawnNavigator } = await import('webgpu-contrastive');
await installDawnNavigator(); // Dawn as navigator.gpu: system GPU, else SwiftShader
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js'); // gradients of tfjs's own ops
await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js'); // x.matMul(…)
await import('@tensorflow/tfjs-backend-webgpu');
const { contrastiveLoss } = await import('webgpu-contrastive/tfjs');
await tf.setBackend('webgpu');

const [n, k, d] = [32, 24, 16];
const x1 = tf.tensor2d(Float32Array.from({ length: n * k }, (_, i) => Math.sin(i)), [n, k]);
const x2 = tf.tensor2d(Float32Array.from({ length: n * k }, (_, i) => Math.sin(i + 0.3)), [n, k]);
const w = tf.variable(tf.tensor2d(Float32Array.from({ length: k * d }, (_, i) => Math.cos(i) / 4), [k, d]));

// A linear encoder; one fused run computes the loss and both ∂L/∂z, tfjs pulls them back to w.
const { value, grads } = tf.variableGrads(() =>
  contrastiveLoss(x1.matMul(w), x2.matMul(w), { loss: 'dcl', temperature: 0.1 }),
);
console.log(JSON.stringify({ backend: tf.getBackend(), loss: (await value.data())[0], gradW: Array.from(await grads[w.name].data()) }));
