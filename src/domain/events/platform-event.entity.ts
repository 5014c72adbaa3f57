import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The transactional outbox: one row per platform event, written in the same transaction as
 * the change it describes. `id` increases in commit order per writer; the relay publishes
 * rows with `publishedAt` null and then stamps them.
 */
@Entity({ tableName: 'platform_events' })
@Index({ properties: ['publishedAt'] })
@Index({ properties: ['app', 'id'] })
export class PlatformEventRow {
  [OptionalProps]?: 'at' | 'publishedAt' | 'app' | 'env' | 'actor';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', length: 40 })
  type!: string;

  @Property({ type: 'datetime', length: 3 })
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

  @Property({ type: 'datetime', length: 3, nullable: true })
  publishedAt?: Date | null;
}
