import { BigIntType, Entity, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { ProgressKind, ReleaseState } from './release-model.js';

/**
 * A release's progress feed: one row per status, step or pod-count change, numbered 1, 2, 3, …
 * per release (unique: a second writer of the same number fails) in the transaction that makes
 * the change. `state` is the release's changing part as of that entry, so a replay shows each
 * moment as it was.
 */
@Entity({ tableName: 'release_progress' })
@Unique({ properties: ['releaseId', 'seq'] })
export class ReleaseProgressRow {
  [OptionalProps]?: 'at';

  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Property({ type: 'integer' })
  releaseId!: number;

  @Property({ type: 'integer' })
  seq!: number;

  @Property({ type: 'string', length: 16 })
  kind!: ProgressKind;

  @Property({ type: 'text' })
  message!: string;

  @Property({ type: 'json' })
  state!: ReleaseState;

  @Property({ type: Date, length: 3 })
  at: Date = new Date();
}
