/**
 * A live socket's credential verdict (src/server/ws-credential-watch.ts) on a fake clock:
 * while events flow, the shared verdict is renewed in the background past ¾ of the re-check
 * interval, so `validNow()` keeps answering at once (direct delivery needs that) and never
 * with a verdict older than the interval; a verdict that ends the socket is not taken.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { CredentialChecks, CredentialWatch } from '../../src/server/ws-credential-watch.js';
import type { Platform } from '../../src/server/platform.js';
import type { Viewer } from '../../src/domain/people/viewer.js';
import { readTokenViewer } from '../support/viewers.js';

const viewer = readTokenViewer(7, 'bot', '1');

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  closed?: number;
  close(code: number): void {
    this.closed = code;
    this.readyState = 3;
    this.emit('close');
  }
}

/** Lets the background lookup (a resolved promise here) land. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('credential verdicts renewed while events flow', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers at once past the interval with a renewed verdict, and never with a stale or refusing one', async () => {
    let now: Viewer | null = viewer;
    let lookups = 0;
    const checks = new CredentialChecks(() => {
      lookups++;
      return Promise.resolve(now);
    });
    const platform = { services: { credentialChecks: checks } } as unknown as Platform;
    const socket = new FakeSocket();
    const watch = new CredentialWatch(
      platform,
      'Bearer x',
      viewer,
      socket as unknown as WebSocket,
      {
        minIntervalMs: 1000,
        periodMs: 60_000,
      },
    );
    expect(watch.validNow()).toBe(true);

    // Past the interval with nothing shared yet: a check is due (graphql-ws's path runs it).
    vi.advanceTimersByTime(1100);
    expect(watch.validNow()).toBeUndefined();
    expect(await watch.stillValid()).toBe(true);
    expect(lookups).toBe(1);

    // Past ¾ of the interval: still fresh, and the next lookup starts in the background.
    vi.advanceTimersByTime(800);
    expect(watch.validNow()).toBe(true);
    await settle();
    expect(lookups).toBe(2);
    // Past the first verdict's interval: the renewed one (300 ms old) answers at once.
    vi.advanceTimersByTime(300);
    expect(watch.validNow()).toBe(true);
    expect(lookups).toBe(2);

    // Nothing asks for a while: no lookup runs, and the verdict goes stale.
    vi.advanceTimersByTime(5000);
    expect(lookups).toBe(2);
    expect(watch.validNow()).toBeUndefined();
    expect(await watch.stillValid()).toBe(true);
    expect(lookups).toBe(3);

    // Revoked: the background lookup finds nothing. That verdict is never taken at once:
    // past the interval the check is due, and it closes the socket (4401).
    now = null;
    vi.advanceTimersByTime(800);
    expect(watch.validNow()).toBe(true); // the last accepted verdict is 800 ms old
    await settle();
    expect(lookups).toBe(4);
    vi.advanceTimersByTime(300);
    expect(watch.validNow()).toBeUndefined();
    expect(await watch.stillValid()).toBe(false);
    vi.runOnlyPendingTimers();
    expect(socket.closed).toBe(4401);
    expect(watch.validNow()).toBe(false);
  });
});
