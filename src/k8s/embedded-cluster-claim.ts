/**
 * One owner of the embedded clusters per database. Embedded clusters live in the memory of
 * the process that started them; two `serve` replicas on one MySQL + Redis would each start
 * their own `sim-1`/`sim-2`, and a deploy through one would be missing through the other
 * (hardening item 8). So the process that starts them first claims a row in its database
 * (`embedded_cluster_owners`) and renews a heartbeat; another process on the same database
 * refuses to start embedded clusters while that owner is alive.
 *
 * An owner counts as gone when its heartbeat is older than `staleAfterMs`, or at once when it
 * ran on this host and its pid no longer exists (a crash or SIGKILL on a developer machine
 * should not block the restart for the whole window). Heartbeats compare the clocks of the
 * hosts involved: keep them in sync (NTP) to well within the window.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { forUpdate } from '../db/locking.js';
import { EMBEDDED_OWNER_ROW, EmbeddedClusterOwner } from './embedded-cluster-owner.entity.js';
import { every } from '../engine/timers.js';

/** Options for {@link claimEmbeddedClusters}. */
export interface EmbeddedClaimOptions {
  /** How often the owner renews its heartbeat. Default: 5000 ms. */
  heartbeatMs?: number;
  /** An owner without a heartbeat for this long is gone. Default: 30 000 ms. */
  staleAfterMs?: number;
  /** Told when a heartbeat fails or finds the row taken by another process. Default: ignored. */
  onError?: (err: unknown, msg: string) => void;
}

/** Thrown when another live process owns the embedded clusters of this database. */
export class EmbeddedClustersTakenError extends Error {
  constructor(
    readonly owner: string,
    heartbeatAgoMs: number,
    staleAfterMs: number,
  ) {
    super(
      `Another Phantom process (${owner}, last heartbeat ${Math.round(heartbeatAgoMs / 1000)} s ago) runs the embedded clusters ` +
        "on this database. Embedded clusters live in one process's memory, so replicas cannot share them: set PHANTOM_KUBECONFIG " +
        'to clusters all replicas share (real ones, or one `phantom sim` per cluster, e.g. `phantom sim --port 6443 --name sim-1 --kubeconfig sim.kubeconfig`), ' +
        `or run a single process. (A crashed owner stops counting ${Math.round(staleAfterMs / 1000)} s after its last heartbeat.)`,
    );
    this.name = 'EmbeddedClustersTakenError';
  }
}

/** The claim held by this process: stop heartbeating and release the row with {@link EmbeddedClaim.release}. */
export interface EmbeddedClaim {
  owner: string;
  release(): Promise<void>;
}

// Owners started in this process (tests run several Phantoms in one process): a row with this
// host and pid but another owner id is alive only if it is one of these; otherwise it is left
// over from an earlier process that had the same pid (a container restarted as pid 1).
const localOwners = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, it is just not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerAlive(row: EmbeddedClusterOwner, now: number, staleAfterMs: number): boolean {
  if (now - row.heartbeatAt.getTime() > staleAfterMs) return false;
  if (row.host !== hostname()) return true;
  if (row.pid === process.pid) return localOwners.has(row.owner);
  return pidAlive(row.pid);
}

/**
 * Claims the embedded clusters of the database behind `em` for this process, or throws
 * {@link EmbeddedClustersTakenError} when a live process holds them. Takes over from a gone one.
 */
export async function claimEmbeddedClusters(
  em: EntityManager,
  opts: EmbeddedClaimOptions = {},
): Promise<EmbeddedClaim> {
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  const staleAfterMs = opts.staleAfterMs ?? 30_000;
  const host = hostname();
  const owner = `${host}:${process.pid}:${randomUUID().slice(0, 8)}`.slice(0, 200);
  const attempt = () =>
    em.fork().transactional(async (tx) => {
      const now = new Date();
      // Locked, so two replicas starting together cannot both see "no live owner".
      const row = await tx.findOne(EmbeddedClusterOwner, { id: EMBEDDED_OWNER_ROW }, forUpdate(tx));
      if (row && ownerAlive(row, now.getTime(), staleAfterMs)) {
        throw new EmbeddedClustersTakenError(
          row.owner,
          now.getTime() - row.heartbeatAt.getTime(),
          staleAfterMs,
        );
      }
      if (row)
        Object.assign(row, { owner, host, pid: process.pid, startedAt: now, heartbeatAt: now });
      else
        tx.persist(
          tx.create(EmbeddedClusterOwner, {
            id: EMBEDDED_OWNER_ROW,
            owner,
            host,
            pid: process.pid,
            startedAt: now,
            heartbeatAt: now,
          }),
        );
    });
  try {
    await attempt();
  } catch (e) {
    // Two first starts on a fresh database: the loser of the insert looks again (and finds the winner).
    if (!(e instanceof UniqueConstraintViolationException)) throw e;
    await attempt();
  }
  localOwners.add(owner);
  const stopHeartbeat = every(heartbeatMs, () => {
    em.fork()
      .nativeUpdate(
        EmbeddedClusterOwner,
        { id: EMBEDDED_OWNER_ROW, owner },
        { heartbeatAt: new Date() },
      )
      .then((n) => {
        // Someone took over after our heartbeat looked stale (a long pause, the database away):
        // two sets of embedded clusters now exist, which needs a person to look.
        if (n === 0)
          opts.onError?.(
            new Error('row taken'),
            "embedded clusters: another process has taken over this database's embedded clusters; restart this one",
          );
      })
      .catch((err) => opts.onError?.(err, 'embedded clusters: heartbeat failed'));
  });
  return {
    owner,
    release: async () => {
      stopHeartbeat();
      localOwners.delete(owner);
      // A graceful stop frees the row at once, so a restart need not wait for the window.
      await em.fork().nativeDelete(EmbeddedClusterOwner, { id: EMBEDDED_OWNER_ROW, owner });
    },
  };
}
