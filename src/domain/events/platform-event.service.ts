/**
 * Reading platform events: history (`listPlatformEvents`) and live with replay
 * (`subscribePlatformEvents`). Writing is `recordEvent` (event-recorder.ts), inside the
 * transaction of each change.
 */
import type { DomainContext } from '../shared/domain-context.js';
import { requireViewer } from '../shared/authz.js';
import { badInput, DomainError } from '../shared/errors.js';
import { actsAsAdmin, type Viewer } from '../people/viewer.js';
import { DIRECT_DELIVERY, topicIterator, type DirectDelivery } from '../../pubsub/index.js';
import { AppRole } from '../apps/app-kind.js';
import { getApp, rolesOf } from '../apps/app.service.js';
import { NOTIFICATION_ROUTE_SETTING, PlatformEventType } from './event-recorder.js';
import {
  findSequenced,
  maxSeq,
  minSeq,
  type EventOrder,
  type PlatformEventFilter,
} from './platform-event.repository.js';
import { toEventRecord, type PlatformEventRecord } from './platform-event.record.js';
import type { PlatformEventFeed } from './platform-event-feed.js';
import { isRuleSetting } from '../rules/rule-setting.js';

export type { PlatformEventFilter, EventOrder };

/**
 * The per-event read rule, applied to every event a query returns and to every event before
 * a subscription sends it (graphql-ws builds the context once per subscription, so a rule
 * checked only at subscribe time would not see the event). Narrow it here, in one place.
 *
 * Today: any signed-in reader sees events of apps and environments, except the events about
 * notification routes (their names and channels), which only those who may read the routes
 * see: platform admins, and for an app's routes the app's OWNERs (by app id, as the routes
 * themselves; src/domain/notify/notification-access.ts). Changes of the admin rules
 * (maintenance windows, dependency rules, whitelist: src/domain/rules/) stop everyone's
 * releases and every signed-in user reads the rules, so everyone sees those. Events of neither
 * app nor environment (users and API tokens created or revoked) concern one person: only
 * platform admins and the person who caused them see those.
 */
export async function canSeeEvent(
  ctx: DomainContext,
  viewer: Viewer,
  e: PlatformEventRecord,
): Promise<boolean> {
  return canSeeEventNow(viewer, e) ?? canSeeRouteEvent(ctx, viewer, e);
}

/**
 * {@link canSeeEvent} when it needs no lookup (every event but a notification route's seen
 * by a non-admin), else undefined: the live path decides most events without a promise.
 */
export function canSeeEventNow(viewer: Viewer, e: PlatformEventRecord): boolean | undefined {
  if (
    e.type === (PlatformEventType.SETTINGS_CHANGED as string) &&
    e.payload.setting === NOTIFICATION_ROUTE_SETTING
  )
    return actsAsAdmin(viewer) ? true : e.app == null ? false : undefined;
  if (e.app != null || e.env != null) return true;
  if (e.type === (PlatformEventType.SETTINGS_CHANGED as string) && isRuleSetting(e.payload.setting))
    return true;
  return actsAsAdmin(viewer) || e.actor === viewer.username;
}

async function canSeeRouteEvent(
  ctx: DomainContext,
  viewer: Viewer,
  e: PlatformEventRecord,
): Promise<boolean> {
  if (actsAsAdmin(viewer)) return true;
  if (e.app == null) return false; // a global route: admins only
  // Events written before `appId` was in the payload: the app of that name now.
  const appId =
    typeof e.payload.appId === 'number'
      ? e.payload.appId
      : ((await getApp(ctx, e.app))?.id ?? null);
  if (appId == null) return false;
  return (await rolesOf(ctx, viewer.userId))[appId] === AppRole.OWNER;
}

const NAME_MAX = 64;

/** Throws BAD_USER_INPUT (naming `filter.<field>`) for a filter that cannot match sensibly. */
export function validateEventFilter(filter: PlatformEventFilter): void {
  for (const key of ['app', 'env', 'actor'] as const) {
    const v = filter[key];
    if (v != null && (v.length === 0 || v.length > NAME_MAX))
      throw badInput(`filter.${key}`, `filter.${key} must be 1–${NAME_MAX} characters.`);
  }
  if (filter.types && filter.types.length > 50)
    throw badInput('filter.types', 'filter.types may list at most 50 types.');
  if (filter.since != null && Number.isNaN(filter.since.getTime()))
    throw badInput('filter.since', 'filter.since is not a valid time.');
}

/** Parses an event id (the decimal `PlatformEvent.id`) given as `field`. */
export function parseEventId(id: string | null | undefined, field: string): bigint | undefined {
  if (id == null || id === '') return undefined;
  if (!/^\d{1,18}$/.test(id))
    throw badInput(
      field,
      `${field} must be a PlatformEvent id (a decimal number) from an earlier event.`,
    );
  return BigInt(id);
}

export function matchesFilter(e: PlatformEventRecord, f: PlatformEventFilter): boolean {
  if (f.types?.length && !f.types.includes(e.type)) return false;
  if (f.app != null && e.app !== f.app) return false;
  if (f.env != null && e.env !== f.env) return false;
  if (f.actor != null && e.actor !== f.actor) return false;
  if (f.since != null && e.at.getTime() < f.since.getTime()) return false;
  return true;
}

export interface EventPage {
  items: PlatformEventRecord[];
  hasNextPage: boolean;
}

/**
 * One page of history by id, oldest first (`asc`, the default: read on from a cursor, then
 * subscribe with the last id) or newest first (`desc`). Only sequenced events: an event
 * becomes visible here when the relay numbers it, moments after its commit.
 */
/**
 * Refuses a resume point whose next events retention deleted (ids are dense from 1, so a
 * missing id below the oldest kept one is gone): the client must know it missed events.
 */
async function checkNotExpired(
  ctx: DomainContext,
  afterSeq: bigint | null | undefined,
): Promise<void> {
  if (afterSeq == null) return;
  const oldest = await minSeq(ctx.em);
  if (oldest != null && afterSeq + 1n < oldest) {
    throw new DomainError(
      'EVENTS_EXPIRED',
      `The events after ${afterSeq} are no longer kept (retention): the oldest kept event is ${oldest}. Resume from ${oldest - 1n} (or without \`after\`) and reload what you derive from events.`,
      { field: 'after', oldestId: String(oldest) },
    );
  }
}

export async function listPlatformEvents(
  ctx: DomainContext,
  filter: PlatformEventFilter,
  first: number,
  afterSeq?: bigint,
  order: EventOrder = 'asc',
): Promise<EventPage> {
  const viewer = requireViewer(ctx.viewer);
  validateEventFilter(filter);
  if (order === 'asc') await checkNotExpired(ctx, afterSeq);
  const items: PlatformEventRecord[] = [];
  let cursor = afterSeq ?? null;
  // Rows hidden by canSeeEvent are skipped, reading on, so a page is short only at the end.
  for (let round = 0; round < 20; round++) {
    const rows = await findSequenced(ctx.em, { filter, afterSeq: cursor, order, limit: first + 1 });
    for (const row of rows) {
      const e = toEventRecord(row);
      cursor = BigInt(e.id);
      if (!(await canSeeEvent(ctx, viewer, e))) continue;
      if (items.length === first) return { items, hasNextPage: true };
      items.push(e);
    }
    if (rows.length <= first) return { items, hasNextPage: false };
  }
  return { items, hasNextPage: true };
}

const REPLAY_BATCH = 200;

/**
 * Live events for one subscriber, after replaying what it missed: with `after` (the last
 * event id it saw) it first gets every later event from the table, then live ones, with no
 * duplicate and no gap at the seam; without `after` it starts at the newest event.
 *
 * How the seam holds: the listener is attached *before* the newest id is read, so every
 * later event reaches the buffer. The feed hands out every event once, in id order, with no
 * gap (it reads a gap from the table once for the whole process, not once per subscriber);
 * an event at or below the last id sent is a duplicate and skipped, and one more than one
 * past it means this subscriber's own buffer dropped events (a slow client): only then does
 * it read the gap from the table itself.
 *
 * Rejects at once (not on the first `next()`) when the caller or the arguments are bad,
 * including an `after` beyond the newest event: ids are dense and public only once given,
 * so such an id was never seen by anyone (a typo, or an id of another installation), and
 * waiting for it would leave the client silent until that many events happened.
 */
export async function subscribePlatformEvents(
  ctx: DomainContext,
  feed: PlatformEventFeed,
  filter: PlatformEventFilter,
  after?: string | null,
): Promise<AsyncIterableIterator<PlatformEventRecord> & DirectDelivery<PlatformEventRecord>> {
  const viewer = requireViewer(ctx.viewer);
  validateEventFilter(filter);
  const afterSeq = parseEventId(after, 'after');
  // The highest id handled (handed out, or skipped as not visible); run() and direct() below
  // both move it, never at the same time: direct() acts only while run() waits on `items`.
  let last = 0n;
  let sink: ((e: PlatformEventRecord) => boolean) | null = null;
  // Direct delivery (DIRECT_DELIVERY in src/pubsub/bus.ts): while run() waits on an empty
  // buffer, the next event in order that is decided without a lookup goes to the sink at
  // once. Anything else (a gap, a lookup, a refused send) is queued for run(), which then
  // holds every later event until it waits again: the order is kept.
  const direct = (e: PlatformEventRecord, seq: bigint): boolean => {
    if (sink === null || !items.parked) return false;
    if (seq <= last) return true; // already handled, as run() would skip it
    if (seq !== last + 1n) return false;
    const now = matchesFilter(e, filter) ? canSeeEventNow(viewer, e) : false;
    if (now === undefined) return false;
    if (now && !sink(e)) return false;
    last = seq;
    return true;
  };
  // A slow client must not grow memory without bound: the oldest buffered items are
  // dropped, and the gap check above reads them back from the table.
  const items = topicIterator<PlatformEventRecord>(
    (on) => [
      feed.listen((e, seq) => {
        if (!direct(e, seq)) on(e);
      }),
    ],
    { bufferSize: 1000 },
  );
  let newest: bigint;
  try {
    newest = await maxSeq(ctx.em);
  } catch (e) {
    items.end();
    throw e;
  }
  if (afterSeq != null && afterSeq > newest) {
    items.end();
    throw badInput(
      'after',
      `after (${afterSeq}) is beyond the newest event (${newest}): pass the id of an event you received.`,
    );
  }
  try {
    await checkNotExpired(ctx, afterSeq);
  } catch (e) {
    items.end();
    throw e;
  }

  // Most events are decided without a lookup: no await (and no promise) for those.
  const visible = (e: PlatformEventRecord): boolean | Promise<boolean> =>
    matchesFilter(e, filter) && (canSeeEventNow(viewer, e) ?? canSeeRouteEvent(ctx, viewer, e));

  async function* replay(from: bigint, to: bigint): AsyncGenerator<PlatformEventRecord> {
    let cursor = from;
    while (cursor < to) {
      // The primary: a replica may not have the rows the bus just announced.
      const rows = await findSequenced(ctx.em, {
        filter,
        afterSeq: cursor,
        upToSeq: to,
        limit: REPLAY_BATCH,
        primary: true,
      });
      for (const row of rows) {
        const e = toEventRecord(row);
        if (await canSeeEvent(ctx, viewer, e)) yield e;
      }
      if (rows.length < REPLAY_BATCH) return;
      cursor = BigInt(rows[rows.length - 1].seq!);
    }
  }

  last = newest;
  async function* run(): AsyncGenerator<PlatformEventRecord> {
    if (afterSeq != null) yield* replay(afterSeq, newest);
    for await (const event of items) {
      const seq = BigInt(event.id);
      if (seq <= last) continue;
      if (seq > last + 1n) yield* replay(last, seq - 1n);
      last = seq;
      const ok = visible(event);
      if (ok === true || (ok !== false && (await ok))) yield event;
    }
  }

  const gen = run();
  const it: AsyncIterableIterator<PlatformEventRecord> & DirectDelivery<PlatformEventRecord> = {
    next: () => gen.next(),
    [DIRECT_DELIVERY](s: (e: PlatformEventRecord) => boolean) {
      sink = s;
    },
    // Ending the buffer first wakes a generator parked on it, so return() cannot hang.
    return: async () => {
      items.end();
      return gen.return(undefined);
    },
    throw: async (err?: unknown) => {
      items.end();
      return gen.throw(err);
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
