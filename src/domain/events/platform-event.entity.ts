import {
  BigIntType,
  Entity,
  Index,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';

/**
 * The transactional outbox: one row per platform event, written in the same transaction as
 * the change it describes.
 *
 * `id` is the insert order (auto-increment), which is *not* commit order: a transaction that
 * inserts early and commits late gets a smaller `id` than rows already published. So the
 * public event id is `seq`, given by the single outbox relay (under a lease) when it first
 * sees the committed row: dense (1, 2, 3, …) and increasing in commit order. `seq` null =
 * committed but not sequenced yet; `publishedAt` null = not yet on the stream.
 * See docs/adr/0005-outbox.md.
 */
@Entity({ tableName: 'platform_events' })
@Index({ properties: ['publishedAt'] })
@Index({ properties: ['app', 'id'] })
@Unique({ properties: ['seq'] })
export class PlatformEventRow {
  [OptionalProps]?: 'at' | 'publishedAt' | 'app' | 'env' | 'actor' | 'seq';

  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  /** Public event id, dense and in commit order; null until the relay sequences the row. */
  @Property({ type: new BigIntType('string'), nullable: true })
  seq?: string | null;

  @Property({ type: 'string', length: 40 })
  type!: string;

  @Property({ type: Date, length: 3 })
  at: Date = new Date();

  /** Username of who caused it, or null for the platform itself. */
  @Property({ type: 'string', length: 64, nullable: true })
  actor?: string | null;

  @Property({ type: 'string', length: 40, nullable: true })
  app?: string | null;

  @Property({ type: 'string', length: 40, nullable: true })
  env?: string | null;

  @Property({ type: 'json' })
  payload!: Record<string, unknown>;

  @Property({ type: Date, length: 3, nullable: true })
  publishedAt?: Date | null;
}
