/**
 * Wires chat notifications into a running Phantom: a `notifier` consumer group on the
 * platform-event stream turns each event into deliveries (idempotent per event and route),
 * and the dispatcher sends them in the background. Both run in the serve process for now;
 * the consumer group spreads events over replicas, the claims keep dispatchers apart.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { ConsumerHandle, EventStream } from '../../pubsub/index.js';
import { PLATFORM_EVENTS_STREAM, type PlatformEventMessage } from '../events/platform-event.record.js';
import { handlePlatformEvent } from './notification-delivery.service.js';
import { NotificationDispatcher, type DispatcherOptions, type NotifyLogger } from './notification-dispatcher.js';
import type { NotifiedEvent } from './notified-event.js';

/** The parts of the platform the notifier needs (structural, so domain/ does not import server/). */
export interface NotifierHost {
  orm: { em: EntityManager };
  messaging: { streams: EventStream };
  logger: NotifyLogger;
  services: Record<string, unknown>;
  onClose: (fn: () => Promise<void> | void) => void;
}

/** Options for {@link startNotifier}; the dispatcher's are documented on {@link DispatcherOptions}. */
export interface NotifierOptions extends Omit<DispatcherOptions, 'em' | 'publicUrl' | 'logger'> {
  /** Base of links in messages: PHANTOM_PUBLIC_URL, else `http://localhost:<port>`. */
  publicUrl: string | (() => string);
  /** Consumer group on the platform-event stream. Default: `'notifier'`. */
  group?: string;
  /** Stream read block time (bounds how late `stop()` is). Default: 1000 ms. */
  blockMs?: number;
  /**
   * Events older than this are not announced (logged and skipped): a new group reads the
   * stream from its start, and a chat flooded with yesterday's history helps nobody.
   * Default: 6 hours.
   */
  maxEventAgeMs?: number;
}

export interface Notifier {
  dispatcher: NotificationDispatcher;
  /** Queues deliveries for one event and wakes the dispatcher (what the stream consumer calls). */
  handle(event: NotifiedEvent): Promise<number>;
  close(): Promise<void>;
}

const SERVICE_KEY = 'notifier';

export function toNotifiedEvent(m: PlatformEventMessage): NotifiedEvent {
  return { id: String(m.id), type: m.type, at: m.at, actor: m.actor ?? null, app: m.app ?? null, env: m.env ?? null, payload: m.payload ?? {} };
}

/** Starts the consumer and the dispatcher for `host`; both stop when the platform closes. */
export function startNotifier(host: NotifierHost, opts: NotifierOptions): Notifier {
  const em = () => host.orm.em.fork();
  const publicUrl = typeof opts.publicUrl === 'function' ? opts.publicUrl : () => opts.publicUrl as string;
  const dispatcher = new NotificationDispatcher({ ...opts, em, publicUrl, logger: host.logger });
  const maxAgeMs = opts.maxEventAgeMs ?? 6 * 3600_000;
  const handle = async (event: NotifiedEvent) => {
    if (Date.now() - Date.parse(event.at) > maxAgeMs) {
      host.logger.info({ eventId: event.id, type: event.type, at: event.at }, 'notifier: event too old to announce; skipped');
      return 0;
    }
    const n = await handlePlatformEvent(em(), event);
    if (n) dispatcher.wake();
    return n;
  };
  dispatcher.start();
  // A new group starts at the stream's beginning ('0'), so events the relay appended before the
  // group existed (at start-up) are not lost; `maxEventAgeMs` keeps old history out of chats.
  const consumer: ConsumerHandle = host.messaging.streams.consume(
    PLATFORM_EVENTS_STREAM,
    opts.group ?? 'notifier',
    `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    (entry) => handle(toNotifiedEvent(entry.body as unknown as PlatformEventMessage)),
    { startId: '0', blockMs: opts.blockMs, onError: (err) => host.logger.warn({ err }, 'notifier: platform event not queued; will retry') },
  );
  const notifier: Notifier = {
    dispatcher,
    handle,
    close: async () => {
      await consumer.stop();
      await dispatcher.stop();
    },
  };
  host.onClose(() => notifier.close());
  host.services[SERVICE_KEY] = notifier;
  return notifier;
}

/** The notifier of this process, if it runs here. */
export function notifierOf(services: Record<string, unknown>): Notifier | undefined {
  return services[SERVICE_KEY] as Notifier | undefined;
}
