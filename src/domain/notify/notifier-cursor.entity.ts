import { BigIntType, Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Where a notifier consumer group stands in the platform-event sequence. Event ids (`seq`)
 * are dense, so an event more than one past `lastEventId` means the stream lost some (Redis
 * restarted without its data, entries trimmed): the notifier reads them back from the
 * events table. See docs/adr/0004-bus-and-streams.md.
 */
@Entity({ tableName: 'notifier_cursors' })
export class NotifierCursor {
  [OptionalProps]?: 'lastEventId' | 'updatedAt';

  /** Consumer group name (`notifier` by default). */
  @PrimaryKey({ type: 'string', length: 64 })
  groupName!: string;

  /** Highest event id handled (null until the first one). */
  @Property({ type: new BigIntType('string'), nullable: true })
  lastEventId?: string | null;

  /**
   * The newest event id when the group was first set up: events up to it are history, and
   * only those are subject to the notifier's age limit (`maxEventAgeMs`).
   */
  @Property({ type: new BigIntType('string') })
  historyUpTo!: string;

  @Property({ type: Date, length: 3 })
  updatedAt: Date = new Date();
}
