/**
 * Wires the events module into a running Phantom: the outbox relay (the `worker` role:
 * numbering under a database lock, publishing under a lease; woken after each commit with
 * events, polling as a backstop) and the live feed for GraphQL subscriptions (the `api` role).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Messaging } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { OutboxRelay, type OutboxRelayOptions, type RelayLogger } from './outbox-relay.js';
import { PlatformEventFeed } from './platform-event-feed.js';
import { DomainError } from '../shared/errors.js';
import { every } from '../../engine/timers.js';

/** The parts of the platform the events module needs (structural, so domain/ does not import server/). */
export interface EventOutboxHost {
  orm: { em: EntityManager };
  messaging: Messaging<PhantomTopics>;
  logger: RelayLogger;
  eventsCommittedListeners: Set<() => void>;
  services: { platformEvents?: PlatformEventFeed; platformEventsRelay?: OutboxRelay };
  onClose: (fn: () => Promise<void> | void) => void;
}

export interface EventOutbox {
  relay?: OutboxRelay;
  feed?: PlatformEventFeed;
  close(): Promise<void>;
}

/** Which parts to run. */
export interface EventOutboxParts {
  /** The outbox relay (the `worker` role). Default: true. */
  relay?: boolean;
  /** The live feed for subscriptions (the `api` role). Default: true. */
  feed?: boolean;
}

/** Starts the relay and/or the feed for `host`; they stop when the platform closes. */
export async function startEventOutbox(
  host: EventOutboxHost,
  opts: Partial<Pick<OutboxRelayOptions, 'pollMs' | 'leaseTtlMs' | 'batchSize'>> & {
    feedPollMs?: number;
  } & EventOutboxParts = {},
): Promise<EventOutbox> {
  const em = () => host.orm.em.fork();
  const { streams, bus, leases } = host.messaging;
  const { relay: withRelay = true, feed: withFeed = true, feedPollMs, ...relayOpts } = opts;
  const relay = withRelay
    ? new OutboxRelay({ em, streams, bus, leases, logger: host.logger, ...relayOpts })
    : undefined;
  const feed = withFeed
    ? new PlatformEventFeed({
        bus,
        em,
        pollMs: feedPollMs,
        every,
        onError: (err) => host.logger.warn({ err }, 'platform event feed: read failed; will retry'),
      })
    : undefined;
  const outbox: EventOutbox = {
    relay,
    feed,
    close: async () => {
      if (relay) host.eventsCommittedListeners.delete(relay.wake);
      feed?.stop();
      await relay?.stop();
    },
  };
  host.onClose(() => outbox.close());
  if (feed) {
    await feed.start();
    host.services.platformEvents = feed;
  }
  if (relay) {
    host.eventsCommittedListeners.add(relay.wake);
    host.services.platformEventsRelay = relay;
    relay.start();
  }
  return outbox;
}

/** The feed of this process, for subscription resolvers. */
export function eventFeedOf(services: { platformEvents?: PlatformEventFeed }): PlatformEventFeed {
  const feed = services.platformEvents;
  if (!feed)
    throw new DomainError('UNAVAILABLE', 'Live platform events are not running in this process.');
  return feed;
}
