import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** A dependency rule: an artifact below a minimum safe version, or at a banned version, fails the precheck. */
@Entity({ tableName: 'dependency_rules' })
export class DependencyRule {
  [OptionalProps]?: 'createdAt' | 'minVersion';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  /** Unique: whitelist entries name it. */
  @Property({ type: 'string', length: 100, unique: true })
  name!: string;

  @Property({ type: 'string', length: 200 })
  artifact!: string;

  @Property({ type: 'string', length: 100, nullable: true })
  minVersion?: string | null;

  @Property({ type: 'json' })
  bannedVersions!: string[];

  @Property({ type: 'text' })
  message!: string;

  @Property({ type: 'string', length: 64 })
  createdBy!: string;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();
}
