/**
 * Readiness checks for `/readyz` (API and worker). Each check gets a deadline, so a frozen
 * dependency makes the answer 503 naming it, within about {@link READINESS_BUDGET_MS}, instead
 * of a request the orchestrator's probe gives up on.
 */
import type { Platform } from './platform.js';

/** How long one `/readyz` may take at most (the checks run side by side). */
export const READINESS_BUDGET_MS = 800;

export interface Readiness {
  ok: boolean;
  /** Check name → passed. `database`; `redis` with REDIS_URL, else `cache` (in-process, always true). */
  checks: Record<string, boolean>;
  /** Names of the checks that failed or did not answer in time (empty when ready). */
  failed: string[];
}

function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    check().then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/** Runs the checks of `platform`, each within `budgetMs` (default {@link READINESS_BUDGET_MS}). */
export async function checkReadiness(
  platform: Platform,
  budgetMs = READINESS_BUDGET_MS,
): Promise<Readiness> {
  const [database, kv] = await Promise.all([
    within(budgetMs, async () => {
      await platform.orm.em.getConnection('write').execute('select 1');
      return true;
    }),
    within(budgetMs, () => platform.kv.ping()),
  ]);
  const checks: Record<string, boolean> = {
    database,
    [platform.config.redisUrl ? 'redis' : 'cache']: kv,
  };
  const failed = Object.entries(checks)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return { ok: failed.length === 0, checks, failed };
}
