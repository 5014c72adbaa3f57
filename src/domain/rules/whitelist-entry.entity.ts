import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * An app exempt from one named rule (a maintenance window's or a dependency rule's name)
 * until `expiresAt`. Expired entries are kept (they say who exempted what) but stop applying
 * at once: evaluation compares `expiresAt` with the moment of the precheck.
 */
@Entity({ tableName: 'whitelist_entries' })
@Index({ properties: ['appId'] })
export class WhitelistEntry {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  /** The app's id: an app created later under a deleted app's name is not exempt. */
  @Property({ type: 'integer', unsigned: true })
  appId!: number;

  @Property({ type: 'string', length: 40 })
  app!: string;

  @Property({ type: 'string', length: 100 })
  rule!: string;

  @Property({ type: 'text' })
  reason!: string;

  @Property({ type: Date, length: 3 })
  expiresAt!: Date;

  @Property({ type: 'string', length: 64 })
  createdBy!: string;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();
}
