// Lets plain Node load tfjs-core's ESM files, whose relative imports omit '.js'.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (!context.parentURL?.includes('/@tensorflow/') || !specifier.startsWith('.')) throw error;
    try {
      return await next(`${specifier}.js`, context);
    } catch {
      return next(`${specifier}/index.js`, context);
    }
  }
}
