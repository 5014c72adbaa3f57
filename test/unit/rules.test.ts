/**
 * The admin rules' pure evaluators: weekly windows in an IANA zone (across midnight, daylight
 * saving), absolute windows, whitelist expiry, and `checkDependencies` on scanned jars.
 */
import { describe, expect, it } from 'vitest';
import { activeOccurrence, describeInstant } from '../../src/domain/rules/maintenance-window.js';
import { checkDependencies } from '../../src/domain/rules/dependency-check.js';
import { Weekday } from '../../src/domain/rules/rule-model.js';

const weekly = (days: Weekday[], startTime: string, endTime: string, timezone: string) => ({
  startsAt: null,
  endsAt: null,
  weekly: { days, startTime, endTime },
  timezone,
});

describe('activeOccurrence', () => {
  // Friday 22:00 – Saturday 06:00 in Shanghai (UTC+8, no DST): Friday 14:00Z – Friday 22:00Z.
  const friNight = weekly([Weekday.FRI], '22:00', '06:00', 'Asia/Shanghai');

  it('a weekly window across midnight, in a non-UTC zone, covers both sides of midnight', () => {
    // 2026-12-04 is a Friday.
    expect(activeOccurrence(friNight, new Date('2026-12-04T13:59:59Z'))).toBeNull();
    expect(activeOccurrence(friNight, new Date('2026-12-04T14:00:00Z'))).toEqual({
      start: new Date('2026-12-04T14:00:00Z'),
      end: new Date('2026-12-04T22:00:00Z'),
    });
    // Saturday 01:00 local: the occurrence that began on Friday.
    expect(activeOccurrence(friNight, new Date('2026-12-04T17:00:00Z'))?.end).toEqual(
      new Date('2026-12-04T22:00:00Z'),
    );
    expect(activeOccurrence(friNight, new Date('2026-12-04T22:00:00Z'))).toBeNull();
    // Saturday 22:00 local is not a Friday.
    expect(activeOccurrence(friNight, new Date('2026-12-05T14:30:00Z'))).toBeNull();
  });

  it("uses the zone's offset of that day (daylight saving)", () => {
    // Berlin, Monday 09:00–10:00: UTC+1 in winter, UTC+2 in summer.
    const w = weekly([Weekday.MON], '09:00', '10:00', 'Europe/Berlin');
    expect(activeOccurrence(w, new Date('2026-12-07T08:30:00Z'))).not.toBeNull();
    expect(activeOccurrence(w, new Date('2026-12-07T07:30:00Z'))).toBeNull();
    expect(activeOccurrence(w, new Date('2026-07-06T07:30:00Z'))).not.toBeNull();
    expect(activeOccurrence(w, new Date('2026-07-06T08:30:00Z'))).toBeNull();
    // A night window over the spring-forward night (2026-03-29, 02:00 → 03:00): 8 h of wall clock, 7 real hours.
    const night = weekly([Weekday.SAT], '22:00', '06:00', 'Europe/Berlin');
    expect(activeOccurrence(night, new Date('2026-03-29T02:00:00Z'))).toEqual({
      start: new Date('2026-03-28T21:00:00Z'),
      end: new Date('2026-03-29T04:00:00Z'),
    });
  });

  it('an absolute window is active from startsAt (inclusive) to endsAt (exclusive)', () => {
    const w = {
      startsAt: new Date('2026-12-24T00:00:00Z'),
      endsAt: new Date('2026-12-27T00:00:00Z'),
      weekly: null,
      timezone: 'UTC',
    };
    expect(activeOccurrence(w, new Date('2026-12-23T23:59:59Z'))).toBeNull();
    expect(activeOccurrence(w, new Date('2026-12-24T00:00:00Z'))).not.toBeNull();
    expect(activeOccurrence(w, new Date('2026-12-27T00:00:00Z'))).toBeNull();
  });

  it("describes an end in UTC and in the window's zone", () => {
    expect(describeInstant(new Date('2026-12-04T22:00:00Z'), 'Asia/Shanghai')).toBe(
      '2026-12-04T22:00:00.000Z (Sat 2026-12-05 06:00 Asia/Shanghai)',
    );
  });
});

describe('checkDependencies', () => {
  const app = { id: 7, name: 'shop' };
  const now = new Date('2026-12-01T00:00:00Z');
  const log4j = {
    name: 'log4j-core',
    artifact: 'log4j-core',
    minVersion: '2.17.1',
    bannedVersions: ['2.15.0'],
    message: 'Upgrade to 2.17.1 or later (CVE-2021-44228).',
  };
  const deps = [
    { name: 'log4j-core', version: '2.14.1', path: 'lib/log4j-core-2.14.1.jar' },
    { name: 'commons-lang3', version: '3.12.0', path: 'lib/commons-lang3-3.12.0.jar' },
  ];

  it('fails a jar below the minimum version, naming both versions and the file', () => {
    const [r] = checkDependencies(deps, [log4j], [], app, now);
    expect(r).toMatchObject({ rule: 'dependency-rule:log4j-core', passed: false });
    expect(r.message).toContain(
      'log4j-core 2.14.1 (lib/log4j-core-2.14.1.jar) is below the minimum safe version 2.17.1',
    );
    expect(r.message).toContain('CVE-2021-44228');
  });

  it('compares Maven versions, not strings (2.9.0 < 2.17.1 < 2.17.10), and banned versions exactly', () => {
    const at = (version: string) =>
      checkDependencies(
        [{ name: 'LOG4J-core', version, path: `lib/log4j-core-${version}.jar` }],
        [log4j],
        [],
        app,
        now,
      )[0];
    expect(at('2.9.0').passed).toBe(false);
    expect(at('2.17.1-rc1').passed).toBe(false);
    expect(at('2.17.1').passed).toBe(true);
    expect(at('2.17.1.Final').passed).toBe(true);
    expect(at('2.17.10').passed).toBe(true);
    const banned = checkDependencies(
      [{ name: 'log4j-core', version: '2.15.0', path: 'a.jar' }],
      [{ ...log4j, minVersion: null }],
      [],
      app,
      now,
    )[0];
    expect(banned.passed).toBe(false);
    expect(banned.message).toContain('is a banned version (2.15.0)');
  });

  it('passes when the artifact is absent, and when a whitelist entry is unexpired (saying so)', () => {
    expect(checkDependencies(deps.slice(1), [log4j], [], app, now)[0]).toMatchObject({
      passed: true,
      message: 'No log4j-core among the 1 dependencies scanned.',
    });
    const entry = {
      appId: 7,
      rule: 'log4j-core',
      reason: 'migration in progress',
      expiresAt: new Date('2026-12-02T00:00:00Z'),
    };
    const r = checkDependencies(deps, [log4j], [entry], app, now)[0];
    expect(r.passed).toBe(true);
    expect(r.message).toMatch(
      /^Whitelist applied: shop is exempt from "log4j-core" until 2026-12-02T00:00:00.000Z \(migration in progress\)/,
    );
    // Expired, another app, another rule: no exemption.
    expect(
      checkDependencies(deps, [log4j], [entry], app, new Date('2026-12-02T00:00:00Z'))[0].passed,
    ).toBe(false);
    expect(checkDependencies(deps, [log4j], [{ ...entry, appId: 8 }], app, now)[0].passed).toBe(
      false,
    );
    expect(
      checkDependencies(deps, [log4j], [{ ...entry, rule: 'other' }], app, now)[0].passed,
    ).toBe(false);
  });
});
