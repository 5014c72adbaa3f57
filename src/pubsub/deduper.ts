/**
 * Remembers the last `capacity` event ids, for consumers of at-least-once streams: a
 * redelivered entry (after a crash or a partition takeover) arrives within a short window of
 * the original, so a bounded memory catches it without growing for ever. Ids older than the
 * window are forgotten; a consumer that needs exact-once across restarts must also record
 * ids next to its effects (e.g. a unique key in its own table).
 */
export class Deduper {
  private readonly ids = new Map<string, true>();

  /** @param capacity ids remembered, least recently seen dropped first. Default: 10 000. */
  constructor(private readonly capacity = 10_000) {}

  /** `true` if `id` was seen before (a duplicate); otherwise records it and returns `false`. */
  seen(id: string): boolean {
    if (this.ids.has(id)) {
      // Refresh: a duplicate shows the id is still in play.
      this.ids.delete(id);
      this.ids.set(id, true);
      return true;
    }
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value!);
    return false;
  }

  get size(): number {
    return this.ids.size;
  }
}
