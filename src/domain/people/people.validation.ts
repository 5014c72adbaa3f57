import { badInput } from '../shared/errors.js';

const USERNAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;

export function validateUsername(username: string, field = 'username'): void {
  if (!USERNAME.test(username)) {
    throw badInput(
      field,
      `"${username}" is not a valid username: 1–64 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit.`,
    );
  }
}

/**
 * The one spelling of a username: trimmed, lower case, Unicode NFC. Applied at creation and
 * at sign-in, so `VIEWER1`, ` viewer1 ` and `viewer1` are one name everywhere (the sign-in
 * throttle included), whatever the database's collation would fold or not.
 */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase().normalize('NFC');
}

/** Is `name` (already normalized) a username that can exist? Others name nobody. */
export function isValidUsername(name: string): boolean {
  return USERNAME.test(name);
}
