import { badInput } from '../shared/errors.js';

const USERNAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;

export function validateUsername(username: string, field = 'username'): void {
  if (!USERNAME.test(username)) {
    throw badInput(field, `"${username}" is not a valid username: 1–64 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit.`);
  }
}
