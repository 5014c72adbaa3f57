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

export const DEFAULT_CREDENTIAL_WATCH: CredentialWatchOptions = {
  minIntervalMs: 1000,
  periodMs: 30_000,
};

/**
 * The share of the re-check interval after which a verdict in use is renewed in the
 * background (CredentialChecks.fresh): the rest of the interval is the lookup's time to land.
 */
const RENEW_AT = 0.75;

/** What one credential lookup found: the viewer now (null: no credential), gone (with why), or a passing fault. */
export type CredentialVerdict = { viewer: Viewer | null } | { gone: string } | { fault: true };

interface CheckEntry {
  /** When the lookup behind `verdict` started (a verdict is as old as its lookup's start). */
  at: number;
  verdict?: CredentialVerdict;
  pending?: { at: number; promise: Promise<CredentialVerdict> };
  /** Sockets watching this credential: the entry goes with the last one. */
  users: number;
}

/**
 * The credential re-checks of all the sockets of one process, shared per credential: a
 * verdict younger than `maxAgeMs` is reused, and sockets asking while a lookup runs wait for
 * that lookup. So the sockets of one token cost one lookup per interval in all (per ¾
 * interval while events flow: see {@link CredentialChecks.fresh}), not one each
 * (issue 9, P3: at thousands of sockets the per-socket lookups ran thousands of statements
 * per second, queued on the pool, and held every frame behind them). The freshness bound a
 * socket relies on is unchanged: no verdict older than `maxAgeMs` is ever used.
 */
export class CredentialChecks {
  private readonly entries = new Map<string, CheckEntry>();
  /** Lookups run so far (tests assert they follow the credentials, not the sockets). */
  lookups = 0;

  constructor(private readonly lookup: (header: string) => Promise<Viewer | null>) {}

  /** Registers a socket watching `header`; call the returned function when it closes. */
  acquire(header: string): () => void {
    let e = this.entries.get(header);
    if (!e) this.entries.set(header, (e = { at: 0, users: 0 }));
    e.users++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--e.users === 0 && this.entries.get(header) === e) this.entries.delete(header);
    };
  }

  /** The credential's verdict, from a lookup started at most `maxAgeMs` ago (run now if there is none). */
  async verdict(header: string, maxAgeMs: number): Promise<CredentialVerdict> {
    const e = this.entries.get(header) ?? { at: 0, users: 0 };
    const now = Date.now();
    if (e.verdict && now - e.at < maxAgeMs) return e.verdict;
    if (e.pending && now - e.pending.at < maxAgeMs) return e.pending.promise;
    const pending = { at: now, promise: this.run(header) };
    e.pending = pending;
    const v = await pending.promise;
    if (pending.at >= e.at) {
      e.at = pending.at;
      e.verdict = v;
    }
    if (e.pending === pending) e.pending = undefined;
    return v;
  }

  /**
   * The verdict of a lookup started less than `maxAgeMs` ago, at once (undefined if there is
   * none). Past {@link RENEW_AT} of that age it starts the next lookup in the background, so
   * that sockets sending events keep finding a fresh verdict without waiting: at most one
   * lookup per credential per ¾ interval while events flow, none when they do not.
   */
  fresh(header: string, maxAgeMs: number): { at: number; verdict: CredentialVerdict } | undefined {
    const e = this.entries.get(header);
    if (!e?.verdict) return undefined;
    const age = Date.now() - e.at;
    if (age >= maxAgeMs) return undefined;
    const renewAt = Math.floor(maxAgeMs * RENEW_AT);
    if (age >= renewAt && !e.pending) void this.verdict(header, renewAt);
    return { at: e.at, verdict: e.verdict };
  }

  /** Credentials watched (tests). */
  get size(): number {
    return this.entries.size;
  }

  private async run(header: string): Promise<CredentialVerdict> {
    this.lookups++;
    try {
      return { viewer: await this.lookup(header) };
    } catch (e) {
      // Only a credential that is really gone ends the socket; a passing database/Redis fault does not.
      if ((e as { code?: string }).code === 'UNAUTHENTICATED')
        return { gone: (e as Error).message };
      return { fault: true };
    }
  }
}

/** The process's shared checks (created on first use). */
export function credentialChecksOf(platform: Platform): CredentialChecks {
  return (platform.services.credentialChecks ??= new CredentialChecks((header) =>
    authenticate(platform.orm.em.fork(), platform.deps, header),
  ));
}

/**
 * graphql-ws authenticates once, at connection_init; subscriptions then live for hours. A
 * revoked token, an ended session or a changed role must not keep streaming, so each socket
 * re-checks its credential (through the same lookup as HTTP: the token row, or the session
 * in the KV store) before sending events and on a timer, and closes with 4401 when it is no
 * longer valid or no longer grants what it did. The lookups are shared per credential
 * across the process's sockets ({@link CredentialChecks}).
 */
export class CredentialWatch {
  private lastCheck = Date.now();
  private valid = true;
  /** The last shared verdict this socket checked and accepted. */
  private accepted?: CredentialVerdict;
  private readonly stopTimer: () => void;
  private readonly checks: CredentialChecks;

  constructor(
    private readonly platform: Platform,
    private readonly header: string,
    private readonly viewer: Viewer,
    private readonly socket: WebSocket,
    private readonly opts: CredentialWatchOptions = DEFAULT_CREDENTIAL_WATCH,
  ) {
    this.checks = credentialChecksOf(platform);
    const release = this.checks.acquire(header);
    const timer = every(opts.periodMs, () => void this.check());
    this.stopTimer = () => {
      timer();
      release();
    };
    socket.once('close', () => this.stopTimer());
    // The client may have gone while we were authenticating: 'close' has fired already.
    if (socket.readyState !== socket.OPEN) this.stopTimer();
  }

  /**
   * The verdict without waiting when one is at hand (revoked, or checked less than
   * minIntervalMs ago); undefined when a check is due ({@link stillValid} runs it). Lets the
   * send path skip a promise per event and subscriber.
   */
  validNow(): boolean | undefined {
    if (!this.valid) return false;
    const min = this.opts.minIntervalMs;
    if (Date.now() - this.lastCheck < min * RENEW_AT) return true;
    // Past ¾ of the interval: the shared verdict of a lookup started less than min ago, when
    // it still grants what it did (compared once per verdict), is the check stillValid would
    // run; asking for it starts the next shared lookup in the background, so that a stream of
    // events finds a fresh one. A verdict that ends the socket is left to stillValid.
    const f = this.checks.fresh(this.header, min);
    if (f !== undefined && f.at > this.lastCheck) {
      if (f.verdict === this.accepted || this.reasonOf(f.verdict) === null) {
        this.accepted = f.verdict;
        this.lastCheck = f.at;
      }
    }
    return Date.now() - this.lastCheck < min ? true : undefined;
  }

  /** True while the credential still grants what it did at connect time; checks at most every minIntervalMs. */
  async stillValid(): Promise<boolean> {
    if (!this.valid) return false;
    if (Date.now() - this.lastCheck < this.opts.minIntervalMs) return true;
    return this.check();
  }

  /** Why the verdict ends this socket, or null (a passing fault does not). */
  private reasonOf(v: CredentialVerdict): string | null {
    if ('gone' in v) return v.gone;
    if ('viewer' in v) {
      const now = v.viewer;
      if (
        !now ||
        now.userId !== this.viewer.userId ||
        now.isAdmin !== this.viewer.isAdmin ||
        now.scopes.join() !== this.viewer.scopes.join()
      )
        return 'Your rights changed; reconnect.';
    }
    return null;
  }

  private async check(): Promise<boolean> {
    this.lastCheck = Date.now();
    const v = await this.checks.verdict(this.header, this.opts.minIntervalMs);
    const reason = this.reasonOf(v);
    if (!reason) this.accepted = v;
    if (reason) {
      this.valid = false;
      this.stopTimer();
      // After the current message is sent (the caller replaces it with an error).
      setImmediate(() => this.socket.close(4401, reason.slice(0, 120)));
      return false;
    }
    return true;
  }
}
