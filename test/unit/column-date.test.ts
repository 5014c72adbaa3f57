/**
 * columnDate (src/db/columns.ts): a MySQL datetime's text is UTC on Phantom's connections, so it
 * must read the same whatever the process's time zone (`TZ`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { columnDate, columnDateOrNull } from '../../src/db/columns.js';

describe('columnDate', () => {
  const tz = process.env.TZ;
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('reads a MySQL datetime as UTC, also in a process whose TZ is not UTC', () => {
    process.env.TZ = 'America/New_York';
    // The zone took effect: read as local time, the same text is 4 hours later in UTC.
    expect(new Date('2024-05-06 07:08:09.123').toISOString()).toBe('2024-05-06T11:08:09.123Z');
    expect(columnDate('2024-05-06 07:08:09.123').toISOString()).toBe('2024-05-06T07:08:09.123Z');
    expect(columnDate('2024-05-06 07:08:09').toISOString()).toBe('2024-05-06T07:08:09.000Z');
    expect(columnDate('2024-05-06T07:08:09.5').toISOString()).toBe('2024-05-06T07:08:09.500Z');
  });

  it('takes epoch milliseconds (number, bigint, digits), ISO text with a zone, and Dates', () => {
    const at = Date.UTC(2024, 4, 6, 7, 8, 9, 123);
    expect(columnDate(at).getTime()).toBe(at);
    expect(columnDate(BigInt(at)).getTime()).toBe(at);
    expect(columnDate(String(at)).getTime()).toBe(at);
    expect(columnDate('2024-05-06T07:08:09.123+02:00').toISOString()).toBe(
      '2024-05-06T05:08:09.123Z',
    );
    const d = new Date(at);
    expect(columnDate(d)).toBe(d);
  });

  it('gives an Invalid Date for what it cannot read, and null for null', () => {
    expect(Number.isNaN(columnDate('not a date').getTime())).toBe(true);
    expect(Number.isNaN(columnDate({}).getTime())).toBe(true);
    expect(columnDateOrNull(null)).toBeNull();
    expect(columnDateOrNull(undefined)).toBeNull();
    expect(columnDateOrNull('2024-05-06 07:08:09')?.toISOString()).toBe('2024-05-06T07:08:09.000Z');
  });
});
