import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** Where an environment deploys: a namespace on a cluster. */
export interface EnvironmentTarget {
  cluster: string;
  namespace: string;
}

/** A platform environment (dev, test, prod, …) and the clusters it deploys to. */
@Entity({ tableName: 'environments' })
export class Environment {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'position';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 40, unique: true })
  name!: string;

  @Property({ type: 'boolean' })
  requiresApproval!: boolean;

  @Property({ type: 'json' })
  targets!: EnvironmentTarget[];

  /** Display order (dev before test before prod). */
  @Property({ type: 'integer' })
  position: number = 0;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
