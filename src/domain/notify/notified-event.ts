/**
 * A platform event as the notifier stores and renders it: the wire form of the
 * `platform-events` stream (`at` as ISO-8601). Kept structural so a delivery row stays
 * readable whatever the events module adds later.
 */
export interface NotifiedEvent {
  /** Platform event id (decimal, dense, in commit order). */
  id: string;
  type: string;
  at: string;
  actor: string | null;
  app: string | null;
  env: string | null;
  payload: Record<string, unknown>;
}
