/**
 * Named leases: at most one holder per name at a time, for as long as it keeps renewing.
 * Used for "one replica runs this" jobs (outbox relay, one watcher per cluster, release
 * engine claims) and for partition ownership.
 *
 * A lease is not a fence: a holder paused longer than its TTL (GC, stopped VM) can still
 * act for a moment after another took over. Work done under a lease must be idempotent.
 */
export interface LeaseManager {
  /** Takes `name` for `holder` if free or already held by `holder` (then extends it). */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease if `holder` still holds it; `false` means it was lost. */
  renew(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease if `holder` holds it; never frees another holder's lease. */
  release(name: string, holder: string): Promise<boolean>;
  /** The current holder, or `null`. */
  holderOf(name: string): Promise<string | null>;
  /** See {@link runWhileLeader}. */
  runWhileLeader(
    name: string,
    ttlMs: number,
    onAcquire: () => void | Promise<void>,
    onLose: () => void | Promise<void>,
    opts?: LeaderOptions,
  ): LeaderHandle;
}

/** Options for {@link runWhileLeader}. */
export interface LeaderOptions {
  /** Holder id. Default: a random UUID, i.e. one per call. */
  holder?: string;
  /** Renew (or retry acquiring) every this many ms. Default: `ttlMs / 3`. */
  intervalMs?: number;
  /** Called when a callback or Redis call fails. Default: logs to stderr. */
  onError?: (err: unknown) => void;
}

export interface LeaderHandle {
  /** Whether this handle holds the lease as of its last renewal. */
  isLeader(): boolean;
  /** Stops trying; if leading, calls `onLose` and releases the lease so another takes over now. */
  stop(): Promise<void>;
}

/**
 * Keeps trying to hold `name`; calls `onAcquire` when it gets it and `onLose` when a
 * renewal fails (or Redis is unreachable for a renewal: we cannot prove we still hold it,
 * so we act as if we lost it). Callbacks never overlap.
 */
export function runWhileLeader(
  leases: Pick<LeaseManager, 'acquire' | 'renew' | 'release'>,
  name: string,
  ttlMs: number,
  onAcquire: () => void | Promise<void>,
  onLose: () => void | Promise<void>,
  opts: LeaderOptions = {},
): LeaderHandle {
  const holder = opts.holder ?? crypto.randomUUID();
  const intervalMs = opts.intervalMs ?? Math.max(10, Math.floor(ttlMs / 3));
  const onError =
    opts.onError ?? ((err: unknown) => console.error(`[pubsub] leader ${name}:`, err));
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  // Callbacks run on their own chain: a slow onAcquire (starting a relay, say) must not
  // delay renewals past the TTL, and chaining keeps them from overlapping.
  let callbacks: Promise<void> = Promise.resolve();
  const call = (cb: () => void | Promise<void>): void => {
    callbacks = callbacks.then(cb).catch(onError);
  };

  const tick = async (): Promise<void> => {
    let held: boolean;
    try {
      held = leader
        ? await leases.renew(name, holder, ttlMs)
        : await leases.acquire(name, holder, ttlMs);
    } catch (err) {
      onError(err);
      held = false;
    }
    if (stopped) {
      // Acquired while stopping: give it back at once.
      if (held && !leader) await leases.release(name, holder).catch(onError);
      return;
    }
    if (held && !leader) {
      leader = true;
      call(onAcquire);
    } else if (!held && leader) {
      leader = false;
      call(onLose);
    }
  };
  const loop = (): void => {
    ticking = tick().finally(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  loop();

  return {
    isLeader: () => leader,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await ticking;
      if (leader) {
        leader = false;
        call(onLose);
        await callbacks;
        // Release only after onLose finished, so the next leader never overlaps our work.
        await leases.release(name, holder).catch(onError);
      }
      await callbacks;
    },
  };
}
