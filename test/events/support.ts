/** Helpers for the platform-event tests. */
import type { Client } from 'graphql-ws';
import type { TestPhantom } from '../support/harness.js';

/** Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws the last error). */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function eventually<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
  stepMs = 50,
): Promise<Truthy<T>> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > end)
      throw lastErr instanceof Error
        ? lastErr
        : new Error(`condition not met within ${timeoutMs} ms`, { cause: lastErr });
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const EVENT_FIELDS = 'id type at actor app env payload';

export interface Collected {
  events: any[];
  errors: unknown[];
  completed: boolean;
  stop(): void;
}

/** Subscribes to `platformEvents` over graphql-ws and collects what arrives. */
export function collectEvents(
  client: Client,
  variables: { filter?: Record<string, unknown>; after?: string | null } = {},
): Collected {
  const out: Collected = { events: [], errors: [], completed: false, stop: () => {} };
  out.stop = client.subscribe(
    {
      query: `subscription($f: PlatformEventFilter, $a: String) { platformEvents(filter: $f, after: $a) { ${EVENT_FIELDS} } }`,
      variables: { f: variables.filter ?? null, a: variables.after ?? null },
    },
    {
      next: (r) => {
        if (r.errors) out.errors.push(...r.errors);
        else out.events.push((r.data as any).platformEvents);
      },
      error: (e) => out.errors.push(e),
      complete: () => {
        out.completed = true;
      },
    },
  );
  return out;
}

/** Id of the newest event visible to `token` ('0' when none). */
export async function newestEventId(t: TestPhantom, token?: string | null): Promise<string> {
  const r = await t.gql(
    `{ platformEvents(first: 1, order: NEWEST_FIRST) { edges { node { id } } } }`,
    undefined,
    token,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.platformEvents.edges[0]?.node.id ?? '0';
}

/** All events visible to `token`, oldest first. */
export async function allEvents(
  t: TestPhantom,
  filter: Record<string, unknown> = {},
  token?: string | null,
): Promise<any[]> {
  const out: any[] = [];
  let after: string | null = null;
  for (;;) {
    const r: any = await t.gql(
      `query($f: PlatformEventFilter, $a: String) { platformEvents(first: 100, after: $a, filter: $f) { edges { node { ${EVENT_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
      { f: filter, a: after },
      token,
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    out.push(...r.data.platformEvents.edges.map((e: any) => e.node));
    if (!r.data.platformEvents.pageInfo.hasNextPage) return out;
    after = r.data.platformEvents.pageInfo.endCursor;
  }
}
