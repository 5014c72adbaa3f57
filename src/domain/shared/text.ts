/**
 * Well-formed text. A JavaScript string may hold an unpaired UTF-16 surrogate (JSON's
 * `"\udfff"` decodes to one), which no UTF-8 column stores faithfully: MySQL's utf8mb4
 * columns turn it into U+FFFD, its JSON columns refuse it. It may also hold NUL (`"\u0000"`),
 * which no name, command or message needs and which the embedded SQLite's statement text
 * cannot carry (MikroORM inlines parameters there; the statement ends at the NUL: an
 * INTERNAL_SERVER_ERROR, and an audit entry that could not be written). The API refuses such
 * input (src/server/input-text.ts); writers that must store whatever came (the audit log)
 * replace it.
 */

/** A lone surrogate (with the `u` flag a well-formed pair is one code point, never `Cs`) or NUL. */
// eslint-disable-next-line no-control-regex -- NUL is what this looks for
const NOT_TEXT = /[\p{Cs}\u0000]/u;

/** Is `s` well-formed UTF-16 (no unpaired surrogate) without NUL? */
export function isWellFormedText(s: string): boolean {
  return !NOT_TEXT.test(s);
}

/** `s` with each unpaired surrogate and NUL replaced by U+FFFD. */
export function toWellFormedText(s: string): string {
  // eslint-disable-next-line no-control-regex -- NUL is what this replaces
  return s.replace(/[\p{Cs}\u0000]/gu, '\uFFFD');
}

/**
 * Length in characters (code points), as a MySQL utf8mb4 `varchar(n)` counts: an emoji is one,
 * where `String.length` counts its two UTF-16 units.
 */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
