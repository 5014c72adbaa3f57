import { BigIntType, Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * One line of a build's log, at a dense offset (0, 1, 2, … per build; unique). Older lines are
 * deleted when the build's log passes PHANTOM_BUILD_LOG_MAX_BYTES (the build row's `logFirst`
 * says where the kept lines start).
 */
@Entity({ tableName: 'build_log_lines' })
@Unique({ properties: ['buildId', 'offset'] })
export class BuildLogLineRow {
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Property({ type: 'integer' })
  buildId!: number;

  @Property({ type: 'integer', fieldName: 'line_offset' })
  offset!: number;

  @Property({ type: 'text' })
  text!: string;

  /** Bytes of `text` (UTF-8), for the bound. */
  @Property({ type: 'integer' })
  size!: number;
}
