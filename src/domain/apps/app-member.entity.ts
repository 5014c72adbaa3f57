import {
  Entity,
  Enum,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { App } from './app.entity.js';
import { AppRole } from './app-kind.js';
import { User } from '../people/user.entity.js';

/** One person's role on one app. */
@Entity({ tableName: 'app_members' })
@Unique({ properties: ['app', 'user'] })
export class AppMember {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => App, { deleteRule: 'cascade' })
  app!: App;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Enum({ items: () => AppRole, type: 'string', length: 16 })
  role!: AppRole;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();
}
