import type { WebSocket } from 'ws';
import type { Platform } from './platform.js';
import type { Viewer } from '../domain/people/viewer.js';
import { authenticate } from '../domain/people/auth.service.js';
import { every } from '../engine/timers.js';

/** How often a live WebSocket's credential is checked again. */
export interface CredentialWatchOptions {
  /** At most one check per this many ms when events are sent (default 1000). */
  minIntervalMs: number;
  /** A check at least this often while the socket is open, events or not (default 30000). */
  periodMs: number;
}

export const DEFAULT_CREDENTIAL_WATCH: CredentialWatchOptions = { minIntervalMs: 1000, periodMs: 30_000 };

/**
 * graphql-ws authenticates once, at connection_init; subscriptions then live for hours. A
 * revoked token, an ended session or a changed role must not keep streaming, so each socket
 * re-checks its credential (through the same lookup as HTTP: the token row, or the session
 * in the KV store) before sending events and on a timer, and closes with 4401 when it is no
 * longer valid or no longer grants what it did.
 */
export class CredentialWatch {
  private lastCheck = Date.now();
  private valid = true;
  private readonly stopTimer: () => void;

  constructor(
    private readonly platform: Platform,
    private readonly header: string,
    private readonly viewer: Viewer,
    private readonly socket: WebSocket,
    private readonly opts: CredentialWatchOptions = DEFAULT_CREDENTIAL_WATCH,
  ) {
    this.stopTimer = every(opts.periodMs, () => void this.check());
    socket.once('close', () => this.stopTimer());
    // The client may have gone while we were authenticating: 'close' has fired already.
    if (socket.readyState !== socket.OPEN) this.stopTimer();
  }

  /** True while the credential still grants what it did at connect time; checks at most every minIntervalMs. */
  async stillValid(): Promise<boolean> {
    if (!this.valid) return false;
    if (Date.now() - this.lastCheck < this.opts.minIntervalMs) return true;
    return this.check();
  }

  private async check(): Promise<boolean> {
    this.lastCheck = Date.now();
    let reason: string | null = null;
    try {
      const now = await authenticate(this.platform.orm.em.fork(), this.platform.deps, this.header);
      if (!now || now.userId !== this.viewer.userId || now.isAdmin !== this.viewer.isAdmin || now.scopes.join() !== this.viewer.scopes.join()) {
        reason = 'Your rights changed; reconnect.';
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      // Only a credential that is really gone ends the socket; a passing database/Redis fault does not.
      if (code === 'UNAUTHENTICATED') reason = (e as Error).message;
    }
    if (reason) {
      this.valid = false;
      this.stopTimer();
      // After the current message is sent (the caller replaces it with an error).
      setImmediate(() => this.socket.close(4401, reason!.slice(0, 120)));
      return false;
    }
    return true;
  }
}
