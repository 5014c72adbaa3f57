import type { SimTiming } from '../../src/k8s/sim/index.js';

/** Small sim delays so rollouts take well under a second. */
export const FAST_TIMING: Partial<SimTiming> = {
  scheduleMs: 10, pullMs: 20, startMs: 20, readyMs: 30, terminateMs: 30, resyncMs: 100,
};

/** Polls `fn` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`waitFor: timed out after ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
