import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * What the dispatchers of every replica know about sending through one route: the recent
 * requests (for the vendor's rate limit), whether the vendor told us to wait (its throttle),
 * and whether the route keeps failing for good (a wrong secret or URL). Kept in the database
 * because the deliveries are: every replica paces the same robot from the same row. Updated
 * by compare-and-set on `version` (no row locks, so SQLite and MySQL behave alike).
 */
@Entity({ tableName: 'notification_route_states' })
export class NotificationRouteState {
  [OptionalProps]?:
    | 'recentSends'
    | 'throttledUntil'
    | 'throttleReason'
    | 'permanentFailures'
    | 'unhealthySince'
    | 'lastPermanentError'
    | 'version'
    | 'updatedAt';

  /** The route's id (not a foreign key: like deliveries, the state outlives a deleted route harmlessly). */
  @PrimaryKey({ type: 'integer', unsigned: true, autoincrement: false })
  routeId!: number;

  /** Start times (ms since epoch) of the latest requests, oldest first, as many as the largest limit counts. */
  @Property({ type: 'json' })
  recentSends: number[] = [];

  /** The vendor refused for rate (Retry-After, DingTalk 130101, WeCom 45009, Feishu 11232): nothing is sent before this. */
  @Property({ type: Date, length: 3, nullable: true })
  throttledUntil?: Date | null;

  /** The vendor's words for the throttle, shown in the API. */
  @Property({ type: 'string', length: 300, nullable: true })
  throttleReason?: string | null;

  /** Permanent failures (wrong secret, unknown token, 404/410) since the last success. */
  @Property({ type: 'integer' })
  permanentFailures: number = 0;

  /** Set when `permanentFailures` reached the threshold; cleared by a success. */
  @Property({ type: Date, length: 3, nullable: true })
  unhealthySince?: Date | null;

  /** The last permanent failure, with its hint. */
  @Property({ type: 'string', length: 1000, nullable: true })
  lastPermanentError?: string | null;

  /** Compare-and-set counter: every write checks and increments it. */
  @Property({ type: 'integer' })
  version: number = 0;

  @Property({ type: Date, length: 3 })
  updatedAt: Date = new Date();
}
