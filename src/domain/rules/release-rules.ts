/**
 * The admin rules' part of a release's prechecks: every maintenance window that covers the
 * app and env, and every dependency rule, each as one result (whitelist entries applied).
 * The release engine calls it in `runPrechecks`; it reads the primary (`connectionType:
 * 'write'`) so a rule an admin just saved is seen by the next precheck.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { PrecheckResult } from '../releases/release-model.js';
import { checkDependencies } from './dependency-check.js';
import { activeOccurrence, describeInstant, windowCovers } from './maintenance-window.js';
import type { Dependency, WhitelistEntryRecord } from './rule-model.js';
import { loadDependencyRules, loadMaintenanceWindows, loadWhitelist } from './rules.repository.js';
import { exemption } from './whitelist.js';

/** The precheck rule name of a maintenance window. */
export const windowRuleName = (name: string): string => `maintenance-window:${name}`;

export interface ReleaseRuleSubject {
  appId: number;
  app: string;
  env: string;
  now: Date;
  /** The dependencies of the release's build; null when the release names an image, not a build. */
  dependencies?: readonly Dependency[] | null;
}

/** Every admin rule's result for releasing `app` to `env` at `now`. */
export async function evaluateReleaseRules(
  em: EntityManager,
  s: ReleaseRuleSubject,
): Promise<PrecheckResult[]> {
  // One after another: the embedded mode's SQLite has one connection. The app's whitelist
  // entries only matter to an active window or to scanned dependencies: read then, once.
  const windows = await loadMaintenanceWindows(em, { primary: true });
  const rules = await loadDependencyRules(em, { primary: true });
  let entries: Promise<WhitelistEntryRecord[]> | undefined;
  const whitelist = () => (entries ??= loadWhitelist(em, { primary: true, appId: s.appId }));
  const results: PrecheckResult[] = [];
  const covering = windows.filter((w) => windowCovers(w, s.app, s.env));
  if (!covering.length)
    results.push({
      rule: 'maintenance-windows',
      passed: true,
      message: `No maintenance window covers ${s.app} in ${s.env}.`,
    });
  for (const w of covering) {
    const rule = windowRuleName(w.name);
    const active = activeOccurrence(w, s.now);
    if (!active) {
      results.push({
        rule,
        passed: true,
        message: `Maintenance window "${w.name}" is not active now.`,
      });
      continue;
    }
    const until = describeInstant(active.end, w.timezone);
    const exempt = exemption(await whitelist(), s.appId, w.name, s.now);
    results.push(
      exempt
        ? {
            rule,
            passed: true,
            message: `Maintenance window "${w.name}" (${w.reason}) is active until ${until}, but the whitelist applied: ${s.app} is exempt until ${exempt.expiresAt.toISOString()} (${exempt.reason}).`,
          }
        : {
            rule,
            passed: false,
            message: `Maintenance window "${w.name}" is active: ${w.reason}. It ends ${until}. Release after that, or ask an admin for a whitelist entry of ${s.app} for "${w.name}".`,
          },
    );
  }
  if (s.dependencies == null) {
    results.push({
      rule: 'dependency-rules',
      passed: true,
      message: rules.length
        ? `No build artifacts were scanned (the release names an image, not a build): ${rules.length} dependency rule(s) not evaluated.`
        : 'No dependency rules.',
    });
  } else {
    results.push(
      ...checkDependencies(
        s.dependencies,
        rules,
        await whitelist(),
        { id: s.appId, name: s.app },
        s.now,
      ),
    );
  }
  return results;
}
