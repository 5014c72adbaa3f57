/**
 * The apps page folds each app's members into its row as JSON (issue 9, P1). MariaDB cuts
 * `JSON_ARRAYAGG` at `group_concat_max_len`: a cut value must leave the members to the
 * DataLoader (undefined), never fail the page or answer a partial list.
 */
import { describe, expect, it } from 'vitest';
import { membersOf } from '../../src/domain/apps/app.repository.js';

const member = (id: number, username: string, isAdmin: unknown = 0) => ({
  id,
  role: 'DEVELOPER',
  userId: id * 10,
  username,
  displayName: username.toUpperCase(),
  isAdmin,
});

describe('membersOf (the page statement’s members_json)', () => {
  it('parses text (MariaDB) and parsed arrays alike, in membership order', () => {
    const list = [member(3, 'c'), member(1, 'a', 1), member(2, 'b', true)];
    for (const v of [JSON.stringify(list), list]) {
      const rows = membersOf(7, v)!;
      expect(rows.map((r) => r.user.username)).toEqual(['a', 'b', 'c']);
      expect(rows.map((r) => r.user.isAdmin)).toEqual([true, true, false]);
      expect(rows[0]).toEqual({
        appId: 7,
        role: 'DEVELOPER',
        user: { id: 10, username: 'a', displayName: 'A', isAdmin: true },
      });
    }
  });

  it('answers no members for NULL (an app without members)', () => {
    expect(membersOf(7, null)).toEqual([]);
  });

  it('leaves a cut value to the DataLoader instead of failing or answering part of the list', () => {
    const whole = JSON.stringify([member(1, 'a'), member(2, 'b')]);
    expect(membersOf(7, whole.slice(0, whole.length - 20))).toBeUndefined();
  });
});
