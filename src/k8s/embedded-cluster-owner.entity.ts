import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Which process runs the embedded clusters for this database (at most one row, id 1). Embedded
 * clusters live in one process's memory: a second process on the same database would start
 * unrelated clusters of the same names. See `embedded-cluster-claim.ts`.
 */
@Entity({ tableName: 'embedded_cluster_owners' })
export class EmbeddedClusterOwner {
  /** Always {@link EMBEDDED_OWNER_ROW}: one owner per database. */
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  /** `host:pid:random`, unique per start. */
  @Property({ type: 'string', length: 200 })
  owner!: string;

  @Property({ type: 'string', length: 255 })
  host!: string;

  @Property({ type: 'integer' })
  pid!: number;

  @Property({ type: Date, length: 3 })
  startedAt!: Date;

  /** Renewed every few seconds while the owner runs; an old one means the owner is gone. */
  @Property({ type: Date, length: 3 })
  heartbeatAt!: Date;
}

/** The primary key of the single owner row. */
export const EMBEDDED_OWNER_ROW = 1;
