import { BigIntType, Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One root field of a GraphQL mutation as it was asked for and how it ended. Written after the response is
 * known (also for failures), never inside the mutation's own transaction. `args` are already
 * redacted when stored (see audit-redaction.ts): the table never holds a secret.
 */
@Entity({ tableName: 'audit_log' })
@Index({ properties: ['app', 'id'] })
@Index({ properties: ['appId', 'id'] })
@Index({ properties: ['actor', 'id'] })
@Index({ properties: ['at'] })
export class AuditEntry {
  [OptionalProps]?: 'at' | 'actor' | 'operationName' | 'target' | 'app' | 'appId' | 'errorCode';

  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Property({ type: Date, length: 3 })
  at: Date = new Date();

  /** Username of the caller; null when not signed in (e.g. `login`). */
  @Property({ type: 'string', length: 64, nullable: true })
  actor?: string | null;

  /** The operation name the client sent, if any. */
  @Property({ type: 'string', length: 100, nullable: true })
  operationName?: string | null;

  /** The root mutation field, e.g. `updateApp` (one entry per root field of a request). */
  @Property({ type: 'string', length: 200 })
  rootField!: string;

  /** What was acted on, e.g. an app or user name. */
  @Property({ type: 'string', length: 100, nullable: true })
  target?: string | null;

  /** The app acted on, when the mutation targets one (lets the app's OWNERs read the entry). */
  @Property({ type: 'string', length: 40, nullable: true })
  app?: string | null;

  /**
   * Id of that app when the entry was written. Names can be reused after a delete: the
   * OWNERs of a new app of the same name must not read the old app's history, so non-admins
   * see only entries whose `appId` is an app they own now.
   */
  @Property({ type: 'integer', nullable: true })
  appId?: number | null;

  /** `OK` or `ERROR`. */
  @Property({ type: 'string', length: 8 })
  outcome!: string;

  /** `extensions.code` of the first error when `outcome` is `ERROR`. */
  @Property({ type: 'string', length: 64, nullable: true })
  errorCode?: string | null;

  /** Root-field arguments (inline literals and variables), secrets redacted. */
  @Property({ type: 'json' })
  args!: Record<string, unknown>;
}
