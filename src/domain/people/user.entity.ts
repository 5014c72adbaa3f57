import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** A person or bot that signs in. Passwords are stored as scrypt hashes only. */
@Entity({ tableName: 'users' })
export class User {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'isAdmin' | 'displayName' | 'passwordHash';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 64, unique: true })
  username!: string;

  @Property({ type: 'string', length: 200 })
  displayName: string = '';

  @Property({ type: 'string', length: 255, nullable: true, hidden: true })
  passwordHash?: string | null;

  @Property({ type: 'boolean' })
  isAdmin: boolean = false;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
