import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { User } from './user.entity.js';
import { TokenScope } from './token-scope.js';

/** A long-lived API token. Only the SHA-256 of the secret is stored; the secret is shown once. */
@Entity({ tableName: 'api_tokens' })
export class ApiToken {
  [OptionalProps]?: 'createdAt' | 'lastUsedAt' | 'revokedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'string', length: 100 })
  name!: string;

  /** hex SHA-256 of the secret: the secret has 256 bits of entropy, so no slow KDF is needed. */
  @Property({ type: 'string', length: 64, unique: true, hidden: true })
  tokenHash!: string;

  @Property({ type: 'json' })
  scopes!: TokenScope[];

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, nullable: true })
  lastUsedAt?: Date | null;

  @Property({ type: Date, length: 3, nullable: true })
  revokedAt?: Date | null;
}
