import {
  BigIntType,
  Entity,
  Enum,
  Index,
  OptionalProps,
  PrimaryKey,
  Property,
} from '@mikro-orm/core';
import { AppRole } from '../apps/app-kind.js';
import { TicketKind, TicketStatus } from './ticket-kind.js';

/**
 * An approval ticket: someone asks, an OWNER of the app (or a platform admin) decides.
 *
 * `appId` and `releaseId` are plain columns, not foreign keys: a ticket is a record of what
 * was asked and decided, and outlives its app (the name at creation is kept in `app`); the
 * releases table comes from another module's migration.
 */
@Entity({ tableName: 'tickets' })
@Index({ properties: ['status'] })
@Index({ properties: ['appId'] })
@Index({ properties: ['requesterId'] })
@Index({ properties: ['releaseId'] })
export class Ticket {
  [OptionalProps]?:
    'createdAt' | 'status' | 'releaseId' | 'role' | 'decidedBy' | 'comment' | 'decidedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Enum({ items: () => TicketKind, type: 'string', length: 24 })
  kind!: TicketKind;

  @Enum({ items: () => TicketStatus, type: 'string', length: 16 })
  status: TicketStatus = TicketStatus.OPEN;

  @Property({ type: 'integer' })
  appId!: number;

  /** The app's name when the ticket was opened. */
  @Property({ type: 'string', length: 40 })
  app!: string;

  @Property({ type: new BigIntType('number'), nullable: true })
  releaseId?: number | null = null;

  @Property({ type: 'integer' })
  requesterId!: number;

  @Property({ type: 'string', length: 64 })
  requester!: string;

  /** The role asked for (ACCESS_REQUEST only). */
  @Enum({ items: () => AppRole, type: 'string', length: 16, nullable: true })
  role?: AppRole | null = null;

  @Property({ type: 'text' })
  reason!: string;

  @Property({ type: 'string', length: 64, nullable: true })
  decidedBy?: string | null = null;

  @Property({ type: 'text', nullable: true })
  comment?: string | null = null;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, nullable: true })
  decidedAt?: Date | null = null;

  @Property({ type: Date, length: 3 })
  expiresAt!: Date;
}
