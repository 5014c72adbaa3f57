import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { WeeklyRange } from './rule-model.js';

/**
 * A maintenance (freeze) window: releases to its envs (of its apps, or of every app) fail
 * their precheck while it is active. Either absolute (`startsAt`–`endsAt`) or weekly
 * (`weekly`, in `timezone`).
 */
@Entity({ tableName: 'maintenance_windows' })
export class MaintenanceWindow {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'startsAt' | 'endsAt' | 'weekly';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  /** Unique: whitelist entries name it. */
  @Property({ type: 'string', length: 100, unique: true })
  name!: string;

  @Property({ type: 'json' })
  envs!: string[];

  @Property({ type: 'json' })
  apps!: string[];

  @Property({ type: Date, length: 3, nullable: true })
  startsAt?: Date | null;

  @Property({ type: Date, length: 3, nullable: true })
  endsAt?: Date | null;

  @Property({ type: 'json', nullable: true })
  weekly?: WeeklyRange | null;

  @Property({ type: 'string', length: 64 })
  timezone!: string;

  @Property({ type: 'text' })
  reason!: string;

  @Property({ type: 'string', length: 64 })
  createdBy!: string;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
