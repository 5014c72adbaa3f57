/**
 * Admin rules as plain data: maintenance windows, dependency rules and whitelist entries, as
 * the pure evaluators (maintenance-window.ts, dependency-check.ts) and the presenters see
 * them. No I/O here.
 */

/** Days of a weekly maintenance window, ISO order (Monday first). */
export enum Weekday {
  MON = 'MON',
  TUE = 'TUE',
  WED = 'WED',
  THU = 'THU',
  FRI = 'FRI',
  SAT = 'SAT',
  SUN = 'SUN',
}

/** ISO weekday numbers (luxon's `weekday`: Monday = 1 … Sunday = 7). */
export const WEEKDAY_NUMBER: Record<Weekday, number> = {
  [Weekday.MON]: 1,
  [Weekday.TUE]: 2,
  [Weekday.WED]: 3,
  [Weekday.THU]: 4,
  [Weekday.FRI]: 5,
  [Weekday.SAT]: 6,
  [Weekday.SUN]: 7,
};

/**
 * A weekly recurrence: on each of `days`, from `startTime` to `endTime` ("HH:MM", local to
 * the window's time zone). An `endTime` at or before `startTime` ends on the next day (a
 * Friday 22:00–06:00 window runs into Saturday morning).
 */
export interface WeeklyRange {
  days: Weekday[];
  startTime: string;
  endTime: string;
}

export interface MaintenanceWindowRecord {
  id: number;
  name: string;
  /** Environments it freezes (at least one). */
  envs: string[];
  /** Apps it freezes; empty = every app. */
  apps: string[];
  /** An absolute window: from `startsAt` to `endsAt`. Null for a weekly one. */
  startsAt: Date | null;
  endsAt: Date | null;
  /** A weekly window. Null for an absolute one. */
  weekly: WeeklyRange | null;
  /** IANA time zone of `weekly` (and of the times shown in messages). */
  timezone: string;
  reason: string;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface DependencyRuleRecord {
  id: number;
  /** The rule's name (what a whitelist entry names): the artifact unless given. */
  name: string;
  /** The artifact name as builds report it (`log4j-core`), compared case-insensitively. */
  artifact: string;
  /** Versions below this (Maven order) are refused; null = no minimum. */
  minVersion: string | null;
  /** Exact versions refused (Maven equality: `2.0` = `2.0.0`). */
  bannedVersions: string[];
  /** What to do about it, shown in the precheck's message. */
  message: string;
  createdBy: string;
  createdAt: Date;
}

export interface WhitelistEntryRecord {
  id: number;
  appId: number;
  app: string;
  /** The name of a maintenance window or a dependency rule. */
  rule: string;
  reason: string;
  expiresAt: Date;
  createdBy: string;
  createdAt: Date;
}

/** One dependency of a build, as the builds' scanner reports it. */
export interface Dependency {
  name: string;
  version: string;
  /** Where it was found in the workspace (`lib/log4j-core-2.14.1.jar`). */
  path: string;
}
