/**
 * The engine's one claim primitive. A work item is a database row with a claim:
 * `claimedBy`, `claimExpiresAt` (epoch ms), `generation` (the fencing token) and `nextRunAt`
 * (epoch ms; null = due now). A worker claims a due row with one conditional UPDATE (unclaimed
 * or expired → mine, generation + 1), renews it while it works, and makes every write of the
 * item conditional on the generation it claimed with: a worker that paused past its expiry,
 * or lost its database connection, finds its generation taken and can never write again.
 * Spinnaker's Orca does the same with its queue's ack timeouts; Temporal with task tokens.
 */
import type { EntityClass, EntityManager, FilterQuery } from '@mikro-orm/core';

/** The columns a work table carries (see {@link WorkClaims}). */
export interface ClaimColumns {
  id: number;
  claimedBy?: string | null;
  claimExpiresAt?: number | null;
  generation: number;
  nextRunAt?: number | null;
}

/** A claim held on one row: the fencing token every write passes. */
export interface Claim {
  id: number;
  generation: number;
  owner: string;
}

/** Thrown by a fenced write whose claim was taken over: the caller must stop at once. */
export class ClaimLostError extends Error {
  constructor(readonly claim: Claim) {
    super(`claim on work item ${claim.id} (generation ${claim.generation}) was lost`);
    this.name = 'ClaimLostError';
  }
}

/** Options for {@link WorkClaims}. */
export interface WorkClaimsOptions<E extends ClaimColumns> {
  entity: EntityClass<E>;
  /** Which rows are work at all (e.g. releases that have not ended). */
  open: FilterQuery<E>;
  /** How long a claim holds without renewal. Default: 15 000 ms. */
  ttlMs?: number;
  /** The clock (tests). Default: `Date.now`. */
  now?: () => number;
}

export class WorkClaims<E extends ClaimColumns> {
  readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: WorkClaimsOptions<E>) {
    this.ttlMs = opts.ttlMs ?? 15_000;
    this.now = opts.now ?? Date.now;
  }

  private free(now: number): FilterQuery<E> {
    return { $or: [{ claimedBy: null }, { claimExpiresAt: { $lt: now } }] } as FilterQuery<E>;
  }

  /** Claims up to `limit` due rows for `owner` (rows another worker claims first are skipped). */
  async claimDue(em: EntityManager, owner: string, limit: number): Promise<Claim[]> {
    if (limit <= 0) return [];
    const now = this.now();
    const due = { $or: [{ nextRunAt: null }, { nextRunAt: { $lte: now } }] } as FilterQuery<E>;
    const rows = await em.find(
      this.opts.entity,
      { $and: [this.opts.open, due, this.free(now)] } as FilterQuery<E>,
      {
        fields: ['id', 'generation'] as never,
        orderBy: { nextRunAt: 'asc', id: 'asc' } as never,
        limit,
        disableIdentityMap: true,
        connectionType: 'write',
      },
    );
    const claims: Claim[] = [];
    for (const r of rows) {
      const c = await this.tryClaim(em, owner, r.id, r.generation);
      if (c) claims.push(c);
    }
    return claims;
  }

  /**
   * Claims row `id` if it is free (or its claim expired) and still at `generation` (when
   * given). Works inside the caller's transaction too (a mutation that acts on an idle item).
   */
  async tryClaim(
    em: EntityManager,
    owner: string,
    id: number,
    generation?: number,
  ): Promise<Claim | null> {
    const now = this.now();
    let gen = generation;
    if (gen === undefined) {
      const row = await em.findOne(this.opts.entity, { id } as FilterQuery<E>, {
        fields: ['id', 'generation'] as never,
        disableIdentityMap: true,
        connectionType: 'write',
      });
      if (!row) return null;
      gen = row.generation;
    }
    const where = { $and: [{ id, generation: gen }, this.free(now)] } as FilterQuery<E>;
    const changed = await em.nativeUpdate(this.opts.entity, where, {
      claimedBy: owner,
      claimExpiresAt: now + this.ttlMs,
      generation: gen + 1,
    } as never);
    return changed === 1 ? { id, generation: gen + 1, owner } : null;
  }

  /** The condition every fenced write adds: this row, still at the claim's generation. */
  fence(claim: Claim): FilterQuery<E> {
    return { id: claim.id, generation: claim.generation, claimedBy: claim.owner } as FilterQuery<E>;
  }

  /** A fenced update of the claimed row; throws {@link ClaimLostError} when the claim is gone. */
  async update(em: EntityManager, claim: Claim, data: Partial<E>): Promise<void> {
    const changed = await em.nativeUpdate(this.opts.entity, this.fence(claim), data as never);
    if (changed !== 1) throw new ClaimLostError(claim);
  }

  /**
   * Extends every claim in `claims` (one statement, whatever their number) and returns the ids
   * whose claim was lost (taken over after an expiry).
   */
  async renewAll(em: EntityManager, claims: Claim[]): Promise<Set<number>> {
    if (!claims.length) return new Set();
    const owner = claims[0].owner;
    const ids = claims.map((c) => c.id);
    const changed = await em.nativeUpdate(
      this.opts.entity,
      { id: { $in: ids }, claimedBy: owner } as FilterQuery<E>,
      { claimExpiresAt: this.now() + this.ttlMs } as never,
    );
    if (changed === ids.length) return new Set();
    const held = await em.find(
      this.opts.entity,
      { id: { $in: ids }, claimedBy: owner } as FilterQuery<E>,
      { fields: ['id'] as never, disableIdentityMap: true, connectionType: 'write' },
    );
    const still = new Set(held.map((r) => r.id));
    return new Set(ids.filter((id) => !still.has(id)));
  }

  /** Extends the claim; false when it was lost. */
  async renew(em: EntityManager, claim: Claim): Promise<boolean> {
    const changed = await em.nativeUpdate(this.opts.entity, this.fence(claim), {
      claimExpiresAt: this.now() + this.ttlMs,
    } as never);
    return changed === 1;
  }

  /**
   * Gives the claim up; the row is due again at `nextRunAt` (epoch ms, null = now). With
   * `quiet`, only while the row still matches it: a signal set meanwhile (e.g. an approval
   * while the run decided to wait for one) makes the row due now instead. False when the
   * claim was lost.
   */
  async release(
    em: EntityManager,
    claim: Claim,
    nextRunAt: number | null,
    quiet?: Record<string, unknown>,
  ): Promise<boolean> {
    const free = { claimedBy: null, claimExpiresAt: null } as const;
    let next = nextRunAt;
    if (quiet && next !== null) {
      const waited = await em.nativeUpdate(
        this.opts.entity,
        { $and: [this.fence(claim), quiet] } as FilterQuery<E>,
        { ...free, nextRunAt: next } as never,
      );
      if (waited === 1) return true;
      next = null;
    }
    const changed = await em.nativeUpdate(this.opts.entity, this.fence(claim), {
      ...free,
      nextRunAt: next,
    } as never);
    return changed === 1;
  }
}
