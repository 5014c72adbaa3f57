/**
 * When a maintenance window is active, computed in its IANA time zone with luxon (daylight
 * saving included: a 02:30 start on a spring-forward night begins at 03:00 local, as luxon
 * resolves a missing local time). Pure: the caller passes `now`.
 */
import { DateTime, IANAZone } from 'luxon';
import { WEEKDAY_NUMBER, type MaintenanceWindowRecord, type WeeklyRange } from './rule-model.js';

/** One occurrence of a window: `start` ≤ t < `end`. */
export interface Occurrence {
  start: Date;
  end: Date;
}

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** Whether `s` is a local time "HH:MM" (00:00 … 23:59). */
export const isLocalTime = (s: string): boolean => HHMM.test(s);

/** Whether `zone` is an IANA time zone this runtime knows (`Europe/Berlin`, `UTC`). */
export const isTimeZone = (zone: string): boolean => IANAZone.isValidZone(zone);

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};

function weeklyOccurrence(weekly: WeeklyRange, zone: string, now: Date): Occurrence | null {
  const local = DateTime.fromJSDate(now, { zone });
  const days = new Set(weekly.days.map((d) => WEEKDAY_NUMBER[d]));
  const startMin = minutesOf(weekly.startTime);
  const endMin = minutesOf(weekly.endTime);
  // An end at or before the start is on the next day; so an occurrence that began yesterday
  // may still run now: look at yesterday's and today's.
  const crossesMidnight = endMin <= startMin;
  for (const back of crossesMidnight ? [1, 0] : [0]) {
    const day = local.minus({ days: back }).startOf('day');
    if (!days.has(day.weekday)) continue;
    const start = day.set({ hour: Math.floor(startMin / 60), minute: startMin % 60 });
    const endDay = crossesMidnight ? day.plus({ days: 1 }) : day;
    const end = endDay.set({ hour: Math.floor(endMin / 60), minute: endMin % 60 });
    const t = now.getTime();
    if (t >= start.toMillis() && t < end.toMillis())
      return { start: start.toJSDate(), end: end.toJSDate() };
  }
  return null;
}

/** The occurrence of `w` that contains `now`, or null when the window is not active then. */
export function activeOccurrence(
  w: Pick<MaintenanceWindowRecord, 'startsAt' | 'endsAt' | 'weekly' | 'timezone'>,
  now: Date,
): Occurrence | null {
  if (w.weekly) return weeklyOccurrence(w.weekly, w.timezone, now);
  if (!w.startsAt || !w.endsAt) return null;
  return now >= w.startsAt && now < w.endsAt ? { start: w.startsAt, end: w.endsAt } : null;
}

/** Whether `w` applies to releases of `app` to `env` (its envs, and its apps or every app). */
export function windowCovers(
  w: Pick<MaintenanceWindowRecord, 'envs' | 'apps'>,
  app: string,
  env: string,
): boolean {
  return w.envs.includes(env) && (w.apps.length === 0 || w.apps.includes(app));
}

/** `t` for people: UTC ISO, and local to `zone` when that is not UTC. */
export function describeInstant(t: Date, zone: string): string {
  const iso = t.toISOString();
  if (zone === 'UTC' || zone === 'Etc/UTC') return iso;
  return `${iso} (${DateTime.fromJSDate(t, { zone }).toFormat('ccc yyyy-LL-dd HH:mm')} ${zone})`;
}
