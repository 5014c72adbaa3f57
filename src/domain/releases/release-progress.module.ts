/** Wires the release progress feed into a process with the api role (`services.releaseProgress`). */
import type { EntityManager } from '@mikro-orm/core';
import type { Messaging } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { every } from '../../engine/timers.js';
import { ReleaseProgressFeed } from './release-progress-feed.js';

export interface ReleaseProgressHost {
  orm: { em: EntityManager };
  messaging: Messaging<PhantomTopics>;
  logger: { warn(obj: object, msg: string): void };
  services: { releaseProgress?: ReleaseProgressFeed };
  onClose: (fn: () => Promise<void> | void) => void;
}

export async function startReleaseProgressFeed(
  host: ReleaseProgressHost,
  pollMs?: number,
): Promise<ReleaseProgressFeed> {
  const feed = new ReleaseProgressFeed({
    bus: host.messaging.bus,
    em: () => host.orm.em.fork(),
    pollMs,
    every,
    onError: (err) => host.logger.warn({ err }, 'release progress feed: read failed; will retry'),
  });
  await feed.start();
  host.services.releaseProgress = feed;
  host.onClose(() => feed.stop());
  return feed;
}
