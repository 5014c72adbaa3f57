import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { AppKind } from './app-kind.js';
import type { ContainerSpec, ReleaseConfig } from './app-spec.js';

/** A service in the registry. `version` increases on every update (optimistic concurrency). */
@Entity({ tableName: 'apps' })
export class App {
  [OptionalProps]?:
    | 'createdAt'
    | 'updatedAt'
    | 'version'
    | 'description'
    | 'repository'
    | 'buildCommand'
    | 'startCommand'
    | 'stopCommand';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 40, unique: true })
  name!: string;

  @Enum({ items: () => AppKind, type: 'string', length: 16 })
  kind!: AppKind;

  @Property({ type: 'text' })
  description: string = '';

  @Property({ type: 'string', length: 500 })
  repository: string = '';

  @Property({ type: 'text' })
  buildCommand: string = '';

  @Property({ type: 'text' })
  startCommand: string = '';

  @Property({ type: 'text' })
  stopCommand: string = '';

  @Property({ type: 'json' })
  container!: ContainerSpec;

  @Property({ type: 'json' })
  releaseConfig!: ReleaseConfig;

  /** Optimistic lock: every update bumps it; a write based on an older version fails. */
  @Property({ type: 'integer', version: true })
  version: number = 1;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
