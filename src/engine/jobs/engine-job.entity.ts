import { BigIntType, Entity, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * A periodic job of the worker role (retention, …): one row per job name, claimed with the
 * engine's claim primitive (src/engine/work-claims.ts) so one worker runs it at a time and a
 * worker that dies mid-run is replaced after the claim's expiry. `nextRunAt` is when it is due.
 */
@Entity({ tableName: 'engine_jobs' })
@Unique({ properties: ['name'] })
export class EngineJob {
  [OptionalProps]?:
    'claimedBy' | 'claimExpiresAt' | 'generation' | 'nextRunAt' | 'lastRunAt' | 'lastResult';

  @PrimaryKey({ type: 'integer', unsigned: true, autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 64 })
  name!: string;

  @Property({ type: 'string', length: 100, nullable: true })
  claimedBy?: string | null;

  /** Epoch milliseconds. */
  @Property({ type: new BigIntType('number'), nullable: true })
  claimExpiresAt?: number | null;

  /** The fencing token: +1 on every claim. */
  @Property({ type: 'integer' })
  generation: number = 0;

  /** Epoch milliseconds when the job is due; null = now. */
  @Property({ type: new BigIntType('number'), nullable: true })
  nextRunAt?: number | null;

  @Property({ type: Date, length: 3, nullable: true })
  lastRunAt?: Date | null;

  /** What the last run did (e.g. rows deleted), for operators. */
  @Property({ type: 'json', nullable: true })
  lastResult?: Record<string, unknown> | null;
}
