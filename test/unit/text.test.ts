import { describe, expect, it } from 'vitest';
import { charLength, isWellFormedText, toWellFormedText } from '../../src/domain/shared/text.js';

describe('text', () => {
  it('counts characters as MySQL utf8mb4 does: an emoji (a surrogate pair) is one', () => {
    expect(charLength('')).toBe(0);
    expect(charLength('abc')).toBe(3);
    expect(charLength('🚀'.repeat(1500))).toBe(1500);
    expect('🚀'.repeat(1500).length).toBe(3000);
    // A lone surrogate counts as one (it is refused elsewhere, never stored).
    expect(charLength('a\udfffb\ud800')).toBe(4);
  });

  it('treats lone surrogates and NUL as not text, and replaces them with U+FFFD', () => {
    expect(isWellFormedText('ok 🚀 é')).toBe(true);
    expect(isWellFormedText('ok\udfff')).toBe(false);
    expect(isWellFormedText('a\u0000b')).toBe(false);
    expect(toWellFormedText('a\u0000b\ud800🚀')).toBe('a\ufffdb\ufffd🚀');
  });
});
