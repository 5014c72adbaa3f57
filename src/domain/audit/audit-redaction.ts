/**
 * Removes secrets from mutation arguments before they are stored in the audit log. The log
 * is readable by admins and app owners, and kept for long: it must never become a second
 * place where passwords, tokens or webhook secrets live. When in doubt, redact.
 */

import { toWellFormedText } from '../shared/text.js';

export const REDACTED = '[REDACTED]';

/**
 * Keys whose values are secrets whatever they look like. Matched against the whole key, case
 * insensitive, so `password`, `newPassword`, `apiToken`, `clientSecret`, `authorization`
 * all match. Over-redacting (e.g. `tokenName`) is the safe error.
 */
const SECRET_KEY =
  /pass(word|phrase|wd)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key|cookie|session|signature|kubeconfig|cert/i;

/** Keys whose URL values point at webhooks: their path often *is* the secret (Slack, Teams). */
const WEBHOOK_KEY = /hook|callback/i;

const MAX_STRING = 2000;
const MAX_DEPTH = 8;
const MAX_ITEMS = 200;

/** Returns a JSON-safe copy of `value` with secrets replaced by {@link REDACTED}. */
export function redact(value: unknown, key = '', depth = 0): unknown {
  if (value == null || typeof value === 'boolean' || typeof value === 'number')
    return value ?? null;
  if (key && SECRET_KEY.test(key)) return REDACTED;
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'string') return redactString(value, WEBHOOK_KEY.test(key));
  if (depth >= MAX_DEPTH) return '[TRUNCATED]';
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((v) => redact(v, key, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, MAX_ITEMS))
      out[toWellFormedText(k)] = redact(v, k, depth + 1);
    return out;
  }
  // What is left is a symbol or a function: its text.
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return String(value);
  return null; // not reached: every typeof is handled above
}

/**
 * URLs keep scheme, host and (unless a webhook) path: credentials in the user-info part and
 * the query string (where webhook URLs carry `token=`/`sig=`) are removed. A bearer
 * credential pasted into any string is removed too.
 */
function redactString(s: string, webhook: boolean): string {
  // A lone surrogate makes the JSON column refuse the whole entry: store U+FFFD instead.
  let out = toWellFormedText(s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…` : s);
  out = out.replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(out)) {
    try {
      const u = new URL(out);
      if (u.username || u.password) {
        u.username = '';
        u.password = '';
      }
      const query = u.search ? `?${REDACTED}` : '';
      const path = webhook && u.pathname !== '/' ? `/${REDACTED}` : u.pathname;
      return `${u.protocol}//${u.host}${path}${query}`;
    } catch {
      return REDACTED; // looks like a URL but does not parse: do not guess what is secret
    }
  }
  return out;
}
