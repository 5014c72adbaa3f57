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
import { ReleaseStrategy } from '../apps/app-kind.js';
import {
  ReleaseStatus,
  type ClusterProgress,
  type PrecheckResult,
  type ReleaseSpec,
  type ReleaseStep,
} from './release-model.js';

/**
 * A release: desired state (what to apply where) written by the API, and the engine's
 * progress through it. It is also a work item of the engine (see src/engine/work-claims.ts):
 * `claimedBy`, `claimExpiresAt` and `generation` are its claim, `nextRunAt` when it is due.
 *
 * One active release per app and environment is the database's rule, not only the code's:
 * `activeKey` is `<appId>/<env>` while the release runs and null once it ended, under a
 * unique index (NULLs never collide).
 */
@Entity({ tableName: 'releases' })
@Unique({ properties: ['activeKey'] })
@Index({ properties: ['appId', 'env', 'id'] })
@Index({ properties: ['status', 'id'] })
@Index({ properties: ['createdBy', 'id'] })
@Index({ properties: ['nextRunAt'] })
@Index({ properties: ['buildId'] })
export class Release {
  [OptionalProps]?:
    | 'createdAt'
    | 'updatedAt'
    | 'generation'
    | 'progressSeq'
    | 'cancelRequested'
    | 'promoteRequested'
    | 'approval'
    | 'claimedBy'
    | 'claimExpiresAt'
    | 'nextRunAt'
    | 'startedAt'
    | 'finishedAt'
    | 'message'
    | 'ticketId'
    | 'buildId'
    | 'rollbackOf'
    | 'rollbackTo'
    | 'outcome'
    | 'approvalNote'
    | 'prechecks'
    | 'clusters'
    | 'activeKey'
    | 'description';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'integer' })
  appId!: number;

  /** The app's name when the release was created. */
  @Property({ type: 'string', length: 40 })
  app!: string;

  @Property({ type: 'string', length: 40 })
  env!: string;

  @Property({ type: 'string', length: 512 })
  image!: string;

  @Enum({ items: () => ReleaseStatus, type: 'string', length: 24 })
  status!: ReleaseStatus;

  @Enum({ items: () => ReleaseStrategy, type: 'string', length: 16 })
  strategy!: ReleaseStrategy;

  @Property({ type: 'json' })
  spec!: ReleaseSpec;

  @Property({ type: 'json' })
  targets!: { cluster: string; namespace: string }[];

  @Property({ type: 'json' })
  steps!: ReleaseStep[];

  @Property({ type: 'json' })
  clusters: ClusterProgress[] = [];

  @Property({ type: 'json' })
  prechecks: PrecheckResult[] = [];

  @Property({ type: 'text' })
  description: string = '';

  @Property({ type: 'string', length: 64 })
  createdBy!: string;

  @Property({ type: 'integer' })
  createdById!: number;

  @Property({ type: 'integer', nullable: true })
  buildId?: number | null;

  /** The release this one rolls back (rollbackRelease). */
  @Property({ type: 'integer', nullable: true })
  rollbackOf?: number | null;

  /** While ROLLING_BACK: the SUCCEEDED release whose spec is being re-applied. */
  @Property({ type: 'integer', nullable: true })
  rollbackTo?: number | null;

  /** While ROLLING_BACK: the status to end in once rolled back (ROLLED_BACK, or CANCELED for a cancel). */
  @Property({ type: 'string', length: 24, nullable: true })
  outcome?: string | null;

  @Property({ type: 'integer', nullable: true })
  ticketId?: number | null;

  /** Why it failed, was canceled or rejected (or what the rollback did). */
  @Property({ type: 'text', nullable: true })
  message?: string | null;

  @Property({ type: 'string', length: 100, nullable: true })
  activeKey?: string | null;

  /** The ticket's decision, set by the approval hook: APPROVED or REJECTED. */
  @Property({ type: 'string', length: 16, nullable: true })
  approval?: string | null;

  /** Who decided, with their comment (shown on the approval step). */
  @Property({ type: 'text', nullable: true })
  approvalNote?: string | null;

  @Property({ type: 'boolean' })
  cancelRequested: boolean = false;

  @Property({ type: 'boolean' })
  promoteRequested: boolean = false;

  /** The newest progress entry's sequence (entries are 1…progressSeq). */
  @Property({ type: 'integer' })
  progressSeq: number = 0;

  // --- the engine's claim (see src/engine/work-claims.ts) ---
  @Property({ type: 'string', length: 100, nullable: true })
  claimedBy?: string | null;

  /** Epoch milliseconds. */
  @Property({ type: new BigIntType('number'), nullable: true })
  claimExpiresAt?: number | null;

  /** The fencing token: +1 on every claim; every write of the engine checks it. */
  @Property({ type: 'integer' })
  generation: number = 0;

  /** Epoch milliseconds when the engine should look at it again; null = now. */
  @Property({ type: new BigIntType('number'), nullable: true })
  nextRunAt?: number | null;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Property({ type: Date, length: 3, nullable: true })
  startedAt?: Date | null;

  @Property({ type: Date, length: 3, nullable: true })
  finishedAt?: Date | null;
}
