/** Run GPU work inside validation and out-of-memory error scopes; turn a captured error into a throw. */
export async function withErrorScopes<T>(device: GPUDevice, what: string, work: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let thrown: unknown;
  try {
    result = await work();
  } catch (e) {
    thrown = e;
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom) throw new Error(`${what}: out of memory: ${oom.message}`);
  if (validation) throw new Error(`${what}: validation error: ${validation.message}`);
  if (thrown !== undefined) throw thrown;
  return result as T;
}
