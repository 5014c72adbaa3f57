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
import type { Dependency } from '../rules/rule-model.js';
import { BuildStatus } from './build-model.js';

/**
 * A build of an app at a git ref. It is also a work item of the engine (see
 * src/engine/work-claims.ts): `claimedBy`, `claimExpiresAt` and `generation` are its claim,
 * `nextRunAt` when it is due. Builds are numbered per app (`number`, unique with the app).
 * The log lives in `build_log_lines`; `logFirst`/`logNext`/`logBytes` say which lines are kept
 * (older ones are dropped past PHANTOM_BUILD_LOG_MAX_BYTES).
 */
@Entity({ tableName: 'builds' })
@Unique({ properties: ['appId', 'number'] })
@Index({ properties: ['status', 'id'] })
@Index({ properties: ['nextRunAt'] })
export class Build {
  [OptionalProps]?:
    | 'createdAt'
    | 'updatedAt'
    | 'generation'
    | 'claimedBy'
    | 'claimExpiresAt'
    | 'nextRunAt'
    | 'startedAt'
    | 'finishedAt'
    | 'message'
    | 'commit'
    | 'image'
    | 'dependencies'
    | 'cancelRequested'
    | 'attempts'
    | 'logFirst'
    | 'logNext'
    | 'logBytes'
    | 'ref';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'integer' })
  appId!: number;

  /** The app's name when the build was triggered. */
  @Property({ type: 'string', length: 40 })
  app!: string;

  @Property({ type: 'integer' })
  number!: number;

  /** The ref asked for; null = the remote's default branch (a build that may auto-release). */
  @Property({ type: 'string', length: 255, nullable: true })
  ref?: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  commit?: string | null;

  @Enum({ items: () => BuildStatus, type: 'string', length: 16 })
  status!: BuildStatus;

  @Property({ type: 'string', length: 512, nullable: true })
  image?: string | null;

  @Property({ type: 'json', nullable: true })
  dependencies?: Dependency[] | null;

  @Property({ type: 'string', length: 64 })
  triggeredBy!: string;

  @Property({ type: 'integer' })
  triggeredById!: number;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  @Property({ type: 'boolean' })
  cancelRequested: boolean = false;

  /** Runs started (a worker that died mid-build leaves one behind; the next retries or fails it). */
  @Property({ type: 'integer' })
  attempts: number = 0;

  /** The first log offset still kept. */
  @Property({ type: 'integer' })
  logFirst: number = 0;

  /** The next log offset (lines are `logFirst … logNext - 1`). */
  @Property({ type: 'integer' })
  logNext: number = 0;

  /** Bytes of the kept lines. */
  @Property({ type: new BigIntType('number') })
  logBytes: number = 0;

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
