/**
 * Values of datetime columns in plain rows (read paths that skip entities), as the drivers
 * answer them: mysql2 with MikroORM's settings gives text (`dateStrings`) in the time zone
 * the connection uses, `+00:00` (src/db/orm.ts); SQLite gives epoch milliseconds (a number,
 * a bigint or a digit string) or ISO text; some paths already hold a Date.
 */

/** `YYYY-MM-DD HH:MM:SS[.fff]`, a MySQL datetime's text: no zone, UTC on Phantom's connections. */
const MYSQL_DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$/;

/**
 * A datetime column's value as a Date. A MySQL datetime's text is read as UTC, as it was
 * written: `new Date('2024-05-06 07:08:09')` would read it in the process's time zone (`TZ`),
 * shifting every date by the offset. Anything else unreadable is an Invalid Date, never a
 * made-up one.
 */
export function columnDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v));
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return new Date(Number(v));
    if (MYSQL_DATETIME.test(v)) return new Date(`${v.replace(' ', 'T')}Z`);
    return new Date(v);
  }
  return new Date(NaN);
}

/** {@link columnDate}, with null (and undefined) as null. */
export const columnDateOrNull = (v: unknown): Date | null => (v == null ? null : columnDate(v));
