/**
 * Page functions for MATH.md's third wave on the fused dispatcher: `supcon` with labels in a GPU
 * buffer, `siglip` with its bias given on the CPU or read on the GPU (`biasParams`, also τ by
 * `temperatureParams`: a training loop's learnable b and τ), ∂L/∂τ and ∂L/∂b. Outputs are
 * poisoned first; inputs and labels are read back and compared; a forward-only run must agree
 * bit for bit; the convenience path (`compute`, labels as an Int32Array) must agree bit for bit
 * with `encode`. Only `navigator.gpu`/the device is used, so Node on Dawn runs the same bodies.
 */
import type { LossOutputs } from '../../src/contrastive-loss.js';
import type { LossOptions } from '../../src/options.js';
import { bitwiseEqual, encodeAndReadBack, errorRecorder, outputBuffers, readBack, TEST_USAGE, upload } from './gpu-io.js';
import { pageLoss } from './loss-runner.js';

/** Options as they cross the page boundary: labels as plain numbers (Int32Array does not survive RPC). */
export type ThirdWaveOptions = Omit<LossOptions, 'labels' | 'bank'> & { labels?: number[] };

/** One encode run (forward+backward) and what the checks around it found. */
export interface ThirdWaveRun {
  loss: number;
  perAnchor: Float32Array;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
  gradTemperature?: number;
  gradBias?: number;
  /** z1, z2 and the labels read back after the runs equal what was uploaded, bit for bit. */
  inputsUnchanged: boolean;
  /** Forward-only loss, perAnchor, gradTemperature and gradBias equal forward+backward's, bit for bit. */
  forwardOnlyMatches: boolean;
  /** `compute()` (labels as an Int32Array, b and τ on the CPU) gives the same bits as `encode`. */
  computeMatches: boolean;
}

/** A buffer holding `labels` as i32. */
function uploadLabels(device: GPUDevice, labels: number[]): GPUBuffer {
  const buf = device.createBuffer({ size: Math.max(4, labels.length * 4), usage: TEST_USAGE });
  device.queue.writeBuffer(buf, 0, Int32Array.from(labels));
  return buf;
}

/**
 * Run `options` through `encode` with poisoned outputs; with `gpuParams`, τ and b are left out of
 * the options and read on the GPU from `temperatureParams = [1/τ, 0]` and `biasParams = [b]`.
 */
export async function runThirdWave(z1: Float32Array, z2: Float32Array, n: number, d: number, options: ThirdWaveOptions, gpuParams = false): Promise<ThirdWaveRun> {
  const cl = await pageLoss();
  const device = cl.device;
  const bz1 = upload(device, z1);
  const bz2 = upload(device, z2);
  const labels = options.labels ? uploadLabels(device, options.labels) : undefined;
  const { temperature, bias, labels: _labels, ...rest } = options;
  const encodeOptions: LossOptions = { ...rest, ...(labels ? { labels } : {}), ...(gpuParams ? {} : { temperature, bias }) };
  const temperatureParams = gpuParams ? upload(device, new Float32Array([1 / temperature!, 0])) : undefined;
  const biasParams = gpuParams ? upload(device, new Float32Array([bias!])) : undefined;
  const anchors = options.loss === 'siglip' ? n : 2 * n;
  const runOnce = async (backward: boolean) => {
    const outputs = outputBuffers(device, { n, d, anchors, backward }, options);
    return encodeAndReadBack(cl, { z1: bz1, z2: bz2, n, d, options: encodeOptions, backward, ...(gpuParams ? { temperatureParams, biasParams } : {}) }, outputs);
  };
  const full = await runOnce(true);
  const fwd = await runOnce(false);
  const after = await readBack(device, labels ? [bz1, bz2, labels] : [bz1, bz2]);
  const labelsUnchanged = !labels || bitwiseEqual(after[2]!, new Float32Array(Int32Array.from(options.labels!).buffer));
  for (const b of [bz1, bz2, labels, temperatureParams, biasParams]) b?.destroy();
  const computeOptions: LossOptions = { ...rest, temperature, bias, ...(options.labels ? { labels: Int32Array.from(options.labels) } : {}) };
  const viaCompute = await cl.compute(z1, z2, n, d, computeOptions);
  const same = (k: keyof LossOutputs) => (full[k] === undefined && fwd[k] === undefined) || bitwiseEqual(full[k]!, fwd[k]!);
  const scalarBits = (a: number | undefined, b: Float32Array | undefined) => (a === undefined && b === undefined) || (b !== undefined && bitwiseEqual(new Float32Array([a!]), b));
  return {
    loss: full.loss![0]!,
    perAnchor: full.perAnchor!,
    gradZ1: full.gradZ1!,
    gradZ2: full.gradZ2!,
    gradTemperature: full.gradTemperature?.[0],
    gradBias: full.gradBias?.[0],
    inputsUnchanged: bitwiseEqual(after[0]!, z1) && bitwiseEqual(after[1]!, z2) && labelsUnchanged,
    forwardOnlyMatches: same('loss') && same('perAnchor') && same('gradTemperature') && same('gradBias'),
    computeMatches:
      scalarBits(viaCompute.loss, full.loss) &&
      bitwiseEqual(viaCompute.perAnchor, full.perAnchor!) &&
      bitwiseEqual(viaCompute.gradZ1!, full.gradZ1!) &&
      bitwiseEqual(viaCompute.gradZ2!, full.gradZ2!) &&
      scalarBits(viaCompute.gradTemperature, full.gradTemperature) &&
      scalarBits(viaCompute.gradBias, full.gradBias),
  };
}

/** Bad third-wave arguments to `encode`/`compute`: each attempt's error message, by name. */
export async function thirdWaveErrors(): Promise<Record<string, string>> {
  const cl = await pageLoss();
  const device = cl.device;
  const n = 4;
  const d = 8;
  const z1 = upload(device, new Float32Array(n * d).fill(1));
  const z2 = upload(device, new Float32Array(n * d).fill(2));
  const labels = uploadLabels(device, [0, 1, 0, 1]);
  const short = uploadLabels(device, [0, 1, 0]);
  const uniformOnly = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const one = upload(device, new Float32Array([-10]), TEST_USAGE);
  const noCopy = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE });
  const enc = (options: LossOptions, extra: object = {}) => cl.encode(device.createCommandEncoder(), { z1, z2, n, d, options, ...extra });
  const host = new Float32Array(n * d).fill(1);
  const { out, attempt } = errorRecorder();
  attempt('labelsArrayOnEncode', () => enc({ loss: 'supcon', labels: Int32Array.from([0, 1, 0, 1]) }));
  attempt('labelsTooShort', () => enc({ loss: 'supcon', labels: short }));
  attempt('labelsNotStorage', () => enc({ loss: 'supcon', labels: uniformOnly }));
  attempt('labelsIsOutput', () => enc({ loss: 'supcon', labels }, { outputs: { loss: labels } }));
  attempt('supconWithoutLabels', () => enc({ loss: 'supcon' }));
  attempt('labelsWithNtxent', () => enc({ loss: 'ntxent', labels }));
  attempt('biasParamsWithNtxent', () => enc({ loss: 'ntxent' }, { biasParams: one }));
  attempt('biasParamsAndBias', () => enc({ loss: 'siglip', bias: 0 }, { biasParams: one }));
  attempt('biasParamsNoCopySrc', () => enc({ loss: 'siglip' }, { biasParams: noCopy }));
  attempt('gradBiasNotAsked', () => enc({ loss: 'siglip' }, { outputs: { gradBias: one } }));
  attempt('siglipNegatives', () => enc({ loss: 'siglip', negatives: 'cross' }));
  attempt('supconBank', () => enc({ loss: 'supcon', labels, bank: { buffer: one, k: 1 } }));
  // compute() rejects asynchronously: awaited here.
  const attemptAsync = async (name: string, f: () => Promise<unknown>) => {
    try {
      await f();
      out[name] = 'no error';
    } catch (e) {
      out[name] = `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  await attemptAsync('computeLabelsLength', () => cl.compute(host, host, n, d, { loss: 'supcon', labels: Int32Array.from([0, 1]) }));
  await attemptAsync('computeLabelsFloat', () => cl.compute(host, host, n, d, { loss: 'supcon', labels: Float32Array.from([0, 1, 0, 1]) as unknown as Int32Array }));
  for (const b of [z1, z2, labels, short, uniformOnly, one, noCopy]) b.destroy();
  return out;
}

/**
 * τ and b read on the GPU past every CPU check: for each bad value, whether every output the
 * call writes (loss, perAnchor, gradients, ∂L/∂τ, ∂L/∂b) came out NaN. Outputs start at 7, not
 * NaN, so a NaN is the kernels' own answer, and a good call first shows they are then finite.
 */
export async function invalidGpuParams(): Promise<Record<string, boolean>> {
  const cl = await pageLoss();
  const device = cl.device;
  const n = 6;
  const d = 5;
  const z = (seed: number) => Float32Array.from({ length: n * d }, (_, i) => Math.sin(seed + i * 1.3));
  const bz1 = upload(device, z(1));
  const bz2 = upload(device, z(2));
  const labels = uploadLabels(device, [0, 1, 0, 1, 2, 2]);
  const cases: [string, LossOptions, number[], number[] | undefined][] = [
    ['good siglip', { loss: 'siglip', gradTemperature: true, gradBias: true }, [10, 1], [-10]],
    ['siglip b = +∞', { loss: 'siglip', gradTemperature: true, gradBias: true }, [10, 1], [Infinity]],
    ['siglip b = NaN', { loss: 'siglip', gradTemperature: true, gradBias: true }, [10, 1], [NaN]],
    ['siglip 1/τ < 0', { loss: 'siglip', gradTemperature: true, gradBias: true }, [-10, 1], [-10]],
    ['supcon 1/τ = +∞', { loss: 'supcon', labels, gradTemperature: true }, [Infinity, 1], undefined],
    ['dcl 1/τ = 0', { loss: 'dcl', gradTemperature: true }, [0, 0], undefined],
    ['dualtemp 1/(τm) = NaN', { loss: 'dualtemp', gradTemperature: true }, [10, NaN], undefined],
  ];
  const out: Record<string, boolean> = {};
  for (const [name, options, tau, bias] of cases) {
    const anchors = options.loss === 'siglip' ? n : 2 * n;
    const outputs = outputBuffers(device, { n, d, anchors, backward: true }, options, 7);
    const temperatureParams = upload(device, new Float32Array(tau));
    const biasParams = bias ? upload(device, new Float32Array(bias)) : undefined;
    const got = await encodeAndReadBack(cl, { z1: bz1, z2: bz2, n, d, options, temperatureParams, ...(biasParams ? { biasParams } : {}) }, outputs);
    const values = Object.values(got).flatMap((v) => Array.from(v!));
    out[name] = name.startsWith('good') ? values.every(Number.isFinite) : values.every(Number.isNaN);
    for (const b of [...Object.values(outputs), temperatureParams, biasParams]) b?.destroy();
  }
  for (const b of [bz1, bz2, labels]) b.destroy();
  return out;
}
