import type { WhitelistEntryRecord } from './rule-model.js';

/**
 * The whitelist entry exempting app `appId` from rule `rule` at `now`, if any (the one that
 * lasts longest). An entry whose `expiresAt` has passed applies no more, at once.
 */
export function exemption(
  whitelist: readonly Pick<WhitelistEntryRecord, 'appId' | 'rule' | 'expiresAt' | 'reason'>[],
  appId: number,
  rule: string,
  now: Date,
) {
  let best: (typeof whitelist)[number] | null = null;
  for (const e of whitelist) {
    if (e.appId !== appId || e.rule !== rule || e.expiresAt.getTime() <= now.getTime()) continue;
    if (!best || e.expiresAt > best.expiresAt) best = e;
  }
  return best;
}
