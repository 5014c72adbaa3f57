/** WebSocket close reasons fit the 123 UTF-8 bytes of a close frame (`ws` throws past that). */
import { describe, expect, it } from 'vitest';
import { fitCloseReason } from '../../src/server/ws-transport.js';

describe('fitCloseReason', () => {
  it('keeps a reason that fits, byte for byte', () => {
    expect(fitCloseReason('Subscriber for 1 already exists')).toBe(
      'Subscriber for 1 already exists',
    );
    const exact = 'é'.repeat(61) + 'x'; // 123 bytes
    expect(fitCloseReason(exact)).toBe(exact);
  });

  it('cuts a longer one by whole characters, with an ellipsis, to at most 123 bytes', () => {
    for (const reason of [
      'é'.repeat(62),
      'x'.repeat(500),
      '😀'.repeat(40),
      `Subscriber for ${'ü'.repeat(90)} already exists`,
    ]) {
      const cut = fitCloseReason(reason);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
      expect(cut.endsWith('…')).toBe(true);
      expect(reason.startsWith(cut.slice(0, -1))).toBe(true);
      expect(cut).not.toMatch(/\uFFFD/);
    }
  });
});
