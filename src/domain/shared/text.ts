/**
 * Well-formed text. A JavaScript string may hold an unpaired UTF-16 surrogate (JSON's
 * `"\udfff"` decodes to one), which no UTF-8 column stores faithfully: MySQL's utf8mb4
 * columns turn it into U+FFFD, its JSON columns refuse it. The API refuses such input
 * (src/server/input-text.ts); writers that must store whatever came (the audit log) replace it.
 */

/** A lone surrogate: with the `u` flag a well-formed pair is one code point, never `Cs`. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Is `s` well-formed UTF-16 (no unpaired surrogate)? */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** `s` with each unpaired surrogate replaced by U+FFFD. */
export function toWellFormedText(s: string): string {
  return s.replace(/\p{Cs}/gu, '\uFFFD');
}
