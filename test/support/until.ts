/**
 * Polls `fn` every `stepMs` until it returns something truthy, and returns that. An error thrown
 * by `fn` counts as "not yet" (a server still starting, say); after `timeoutMs` it throws
 * `timed out waiting for <what>`, with the last error if there was one.
 */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 40_000, stepMs = 100 } = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > end) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${why}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
