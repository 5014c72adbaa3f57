import {
  BigIntType,
  Entity,
  Enum,
  Index,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { NotificationDeliveryStatus } from './notification-channel.js';
import type { NotifiedEvent } from './notified-event.js';

/**
 * One platform event to send through one route. The unique (event, route) pair makes the
 * fan-out idempotent: the event stream is at-least-once, and a redelivered event must not
 * send twice. `routeId` is not a foreign key: the history outlives a deleted route (its
 * queued deliveries end DEAD).
 */
@Entity({ tableName: 'notification_deliveries' })
@Unique({ properties: ['eventId', 'routeId'] })
@Index({ properties: ['status', 'nextAttemptAt'] })
@Index({ properties: ['routeId', 'id'] })
@Index({ properties: ['app', 'id'] })
@Index({ properties: ['appId', 'id'] })
export class NotificationDelivery {
  [OptionalProps]?:
    | 'app'
    | 'appId'
    | 'claimToken'
    | 'attempts'
    | 'lastError'
    | 'nextAttemptAt'
    | 'lockedUntil'
    | 'sentAt'
    | 'createdAt'
    | 'updatedAt'
    | 'attemptLog'
    | 'digestId';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** Platform event id (its `seq`, decimal). */
  @Property({ type: 'string', length: 20 })
  eventId!: string;

  @Property({ type: 'integer', unsigned: true })
  routeId!: number;

  /** The route's app (null for a global route): who may read and retry this delivery. */
  @Property({ type: 'string', length: 40, nullable: true })
  app?: string | null;

  /** The route's app id: who may read and retry this delivery (see NotificationRoute.appId). */
  @Property({ type: 'integer', unsigned: true, nullable: true })
  appId?: number | null;

  @Property({ type: 'string', length: 40 })
  eventType!: string;

  /** The event as it was on the stream, rendered at send time (payloads never hold secrets). */
  @Property({ type: 'json' })
  event!: NotifiedEvent;

  @Enum({ items: () => NotificationDeliveryStatus, type: 'string', length: 16 })
  status!: NotificationDeliveryStatus;

  @Property({ type: 'integer' })
  attempts: number = 0;

  /**
   * Why the latest failed attempt failed (HTTP status, receiver's error, network error). Never
   * the URL. A later success keeps it: the full story is in `attemptLog`.
   */
  @Property({ type: 'string', length: 1000, nullable: true })
  lastError?: string | null;

  /** When the next attempt is due (PENDING, RETRYING); null when SENT or DEAD. */
  @Property({ type: Date, length: 3, nullable: true })
  nextAttemptAt?: Date | null;

  /** A dispatcher claimed it until then (several replicas poll the same table). */
  @Property({ type: Date, length: 3, nullable: true })
  lockedUntil?: Date | null;

  /**
   * Random token of the dispatcher holding the claim: finishing an attempt requires it, so a
   * dispatcher whose claim expired (and was taken over) cannot overwrite the outcome.
   */
  @Property({ type: 'string', length: 32, nullable: true })
  claimToken?: string | null;

  @Property({ type: Date, length: 3, nullable: true })
  sentAt?: Date | null;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3 })
  updatedAt: Date = new Date();

  /** Every attempt, oldest first (at most {@link ATTEMPT_LOG_MAX}): when, outcome, HTTP status, vendor code and message. */
  @Property({ type: 'json', nullable: true })
  attemptLog?: DeliveryAttempt[] | null;

  /**
   * When it went out inside a digest (several waiting events merged into one message because
   * the route had more waiting than its rate allows): the id of the digest's first delivery.
   */
  @Property({ type: new BigIntType('string'), nullable: true })
  digestId?: string | null;
}

/** Attempts kept per delivery (the oldest beyond it are dropped; `attempts` still counts them). */
export const ATTEMPT_LOG_MAX = 30;

/** One attempt of a delivery, as recorded. */
export interface DeliveryAttempt {
  /** ISO time the request was made. */
  at: string;
  /** SENT, FAILED (will retry), THROTTLED (the vendor asked to wait), PERMANENT (ended at once), DEAD (retry window over). */
  outcome: 'SENT' | 'FAILED' | 'THROTTLED' | 'PERMANENT' | 'DEAD';
  /** HTTP status, when an answer came. */
  httpStatus?: number | null;
  /** The vendor's own error code (`errcode`, `code`, Slack's word), when it gave one. */
  vendorCode?: string | null;
  /** What went wrong, with a hint for permanent failures; null on success. */
  message?: string | null;
  /** Digest it went out in (id of the digest's first delivery), when it did. */
  digestId?: string | null;
}
