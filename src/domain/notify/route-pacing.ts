/**
 * Per-route pacing at the chat vendors' documented limits, shared by every replica: each
 * request takes a slot in the route's row of `notification_route_states` (compare-and-set),
 * so two dispatchers never spend the same slot, and a route the vendor throttled waits.
 * The limits themselves: rate-limits.ts.
 */
import type { EntityManager } from '@mikro-orm/core';
import { loadRouteState, updateRouteState } from './notification.repository.js';
import type { RateLimit } from './rate-limits.js';

/** The outcome of asking for a slot. */
export type SlotDecision =
  | { ok: true; recent: number[]; remaining: number }
  | { ok: false; waitUntil: number; reason: string };

/**
 * Pure: may a request start at `now`, given the start times of the latest ones? When it may,
 * `recent` is the list to store (with `now`) and `remaining` how many more fit right away in
 * the tightest window (Infinity when unlimited); otherwise when the oldest blocking request
 * leaves its window.
 */
export function decideSlot(recentSends: number[], limits: RateLimit[], now: number): SlotDecision {
  if (!limits.length) return { ok: true, recent: [], remaining: Number.POSITIVE_INFINITY };
  const longest = Math.max(...limits.map((l) => l.periodMs));
  const keep = Math.max(...limits.map((l) => l.limit));
  // A clock step back on another replica could leave future times: they count as now.
  const recent = recentSends.filter((t) => t > now - longest).sort((a, b) => a - b);
  let waitUntil = 0;
  for (const l of limits) {
    const inWindow = recent.filter((t) => t > now - l.periodMs);
    // A margin (2 % of the window, at most 1 s) for clocks of replicas and vendors that differ a little.
    if (inWindow.length >= l.limit)
      waitUntil = Math.max(
        waitUntil,
        inWindow[inWindow.length - l.limit] +
          l.periodMs +
          Math.min(1000, Math.ceil(l.periodMs / 50)),
      );
  }
  if (waitUntil > now) return { ok: false, waitUntil, reason: 'paced' };
  const next = [...recent, now].slice(-keep);
  const remaining = Math.min(
    ...limits.map((l) => l.limit - next.filter((t) => t > now - l.periodMs).length),
  );
  return { ok: true, recent: next, remaining };
}

/** How many times a slot is asked for when other replicas keep winning the compare-and-set. */
const CAS_TRIES = 5;

/**
 * Takes a send slot on route `routeId` for a request starting now, across replicas: refused
 * while the vendor's throttle lasts (`throttledUntil`) or when the limits are spent.
 */
export async function takeSendSlot(
  em: EntityManager,
  routeId: number,
  limits: RateLimit[],
  now = Date.now(),
): Promise<SlotDecision> {
  for (let i = 0; i < CAS_TRIES; i++) {
    const state = await loadRouteState(em, routeId);
    if (state.throttledUntil && state.throttledUntil.getTime() > now) {
      return {
        ok: false,
        waitUntil: state.throttledUntil.getTime(),
        reason: `throttled: ${state.throttleReason ?? 'by the receiver'}`,
      };
    }
    const recentSends =
      typeof state.recentSends === 'string'
        ? (JSON.parse(state.recentSends) as number[])
        : (state.recentSends ?? []);
    const d = decideSlot(recentSends, limits, now);
    if (!d.ok) return d;
    if (!limits.length) return d; // nothing to count: no write per send
    if (await updateRouteState(em, routeId, state.version, { recentSends: d.recent })) return d;
  }
  // Other replicas are sending on this route right now: look again shortly.
  return { ok: false, waitUntil: now + 100, reason: 'contended' };
}

/** Records the vendor's throttle: nothing goes out on the route before `until` (never shortened). */
export async function recordThrottle(
  em: EntityManager,
  routeId: number,
  until: number,
  reason: string,
): Promise<void> {
  for (let i = 0; i < CAS_TRIES; i++) {
    const state = await loadRouteState(em, routeId);
    if (state.throttledUntil && state.throttledUntil.getTime() >= until) return;
    if (
      await updateRouteState(em, routeId, state.version, {
        throttledUntil: new Date(until),
        throttleReason: reason.slice(0, 300),
      })
    )
      return;
  }
}

/** A success: the route is healthy again (written only when something was recorded against it). */
export async function recordRouteSuccess(em: EntityManager, routeId: number): Promise<void> {
  for (let i = 0; i < CAS_TRIES; i++) {
    const state = await loadRouteState(em, routeId);
    if (!state.permanentFailures && !state.unhealthySince) return;
    if (
      await updateRouteState(em, routeId, state.version, {
        permanentFailures: 0,
        unhealthySince: null,
      })
    )
      return;
  }
}

/**
 * A permanent failure (wrong secret, unknown token, 404/410); after `threshold` in a row the
 * route is unhealthy. Returns true when this failure made it so.
 */
export async function recordPermanentFailure(
  em: EntityManager,
  routeId: number,
  message: string,
  threshold: number,
  now = new Date(),
): Promise<boolean> {
  for (let i = 0; i < CAS_TRIES; i++) {
    const state = await loadRouteState(em, routeId);
    const failures = state.permanentFailures + 1;
    const becomes = failures >= threshold && !state.unhealthySince;
    if (
      await updateRouteState(em, routeId, state.version, {
        permanentFailures: failures,
        lastPermanentError: message.slice(0, 1000),
        ...(becomes ? { unhealthySince: now } : {}),
      })
    )
      return becomes;
  }
  return false;
}

/**
 * Moves a request's slot from its start to its end: the vendor counts a request when it
 * arrives, which is somewhere in between, so counting from the end keeps the window honest
 * even when a request was slow to get there.
 */
export async function settleSlot(
  em: EntityManager,
  routeId: number,
  startedAt: number,
  endedAt: number,
): Promise<void> {
  if (endedAt <= startedAt) return;
  // More tries than elsewhere: a slot left at its start time lets the next window open early.
  for (let i = 0; i < CAS_TRIES * 4; i++) {
    const state = await loadRouteState(em, routeId);
    const recentSends =
      typeof state.recentSends === 'string'
        ? (JSON.parse(state.recentSends) as number[])
        : (state.recentSends ?? []);
    const at = recentSends.indexOf(startedAt);
    if (at < 0) return;
    const next = [...recentSends];
    next[at] = endedAt;
    next.sort((a, b) => a - b);
    if (await updateRouteState(em, routeId, state.version, { recentSends: next })) return;
  }
}
