/**
 * The engine's timer primitive: every periodic task of a Phantom process (claim polling,
 * feed heartbeats) goes through here, so background work has one home.
 */

/** Calls `fn` every `ms` (unref'd: a timer never keeps the process alive); returns the stop function. */
export function every(ms: number, fn: () => void): () => void {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
}
