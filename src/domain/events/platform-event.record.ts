import type { PlatformEventRow } from './platform-event.entity.js';

/** A sequenced platform event as readers see it. `id` is the decimal `seq`. */
export interface PlatformEventRecord {
  id: string;
  type: string;
  at: Date;
  actor: string | null;
  app: string | null;
  env: string | null;
  payload: Record<string, unknown>;
}

/**
 * The wire form: the body of each entry on the `platform-events` stream (entry id = event id)
 * and the payload of the `platformEvents` bus topic. Plain JSON, `at` as ISO-8601.
 */
export interface PlatformEventMessage {
  id: string;
  type: string;
  at: string;
  actor: string | null;
  app: string | null;
  env: string | null;
  payload: Record<string, unknown>;
}

/** Name of the durable stream the relay appends to. */
export const PLATFORM_EVENTS_STREAM = 'platform-events';
/** Bus topic the relay publishes to after each append (feeds GraphQL subscriptions on every replica). */
export const PLATFORM_EVENTS_TOPIC = 'platformEvents';

export function toEventRecord(row: PlatformEventRow): PlatformEventRecord {
  if (row.seq == null) throw new Error(`outbox: event row ${row.id} has no seq yet`);
  return {
    id: String(row.seq),
    type: row.type,
    at: row.at,
    actor: row.actor ?? null,
    app: row.app ?? null,
    env: row.env ?? null,
    // mysql2 may hand JSON columns back as strings on MariaDB (docs/STACK.md).
    payload:
      typeof row.payload === 'string'
        ? (JSON.parse(row.payload) as Record<string, unknown>)
        : row.payload,
  };
}

export function toEventMessage(e: PlatformEventRecord): PlatformEventMessage {
  return { ...e, at: e.at.toISOString() };
}

export function fromEventMessage(m: PlatformEventMessage): PlatformEventRecord {
  return {
    id: String(m.id),
    type: m.type,
    at: new Date(m.at),
    actor: m.actor ?? null,
    app: m.app ?? null,
    env: m.env ?? null,
    payload: m.payload ?? {},
  };
}
