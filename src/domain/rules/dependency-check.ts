/**
 * Dependency rules against one build's dependencies. Pure, so the builds module calls it with
 * what its scanner found and the release precheck with a build's recorded list.
 */
import type { PrecheckResult } from '../releases/release-model.js';
import { compareMavenVersions } from './maven-version.js';
import type { Dependency, DependencyRuleRecord, WhitelistEntryRecord } from './rule-model.js';
import { exemption } from './whitelist.js';

/** The precheck rule name of a dependency rule. */
export const dependencyRuleName = (name: string): string => `dependency-rule:${name}`;

/** Why `dep` breaks `rule`, or null when it does not. */
function violation(
  dep: Dependency,
  rule: Pick<DependencyRuleRecord, 'minVersion' | 'bannedVersions'>,
): string | null {
  const banned = rule.bannedVersions.find((b) => compareMavenVersions(dep.version, b) === 0);
  if (banned !== undefined)
    return `${dep.name} ${dep.version} (${dep.path}) is a banned version (${banned})`;
  if (rule.minVersion && compareMavenVersions(dep.version, rule.minVersion) < 0) {
    return `${dep.name} ${dep.version} (${dep.path}) is below the minimum safe version ${rule.minVersion}`;
  }
  return null;
}

/**
 * One result per rule: failed when a dependency of the rule's artifact (name compared
 * case-insensitively) is below its minimum version or at a banned one, naming both versions
 * and the file; passed when none is, or when a whitelist entry of `app` for the rule is
 * unexpired at `now` (the message says the whitelist applied).
 */
export function checkDependencies(
  deps: readonly Dependency[],
  rules: readonly Pick<
    DependencyRuleRecord,
    'name' | 'artifact' | 'minVersion' | 'bannedVersions' | 'message'
  >[],
  whitelist: readonly Pick<WhitelistEntryRecord, 'appId' | 'rule' | 'expiresAt' | 'reason'>[],
  app: { id: number; name: string },
  now: Date,
): PrecheckResult[] {
  return rules.map((rule) => {
    const name = dependencyRuleName(rule.name);
    const artifact = rule.artifact.toLowerCase();
    const found = deps.filter((d) => d.name.toLowerCase() === artifact);
    const problems = found.map((d) => violation(d, rule)).filter((p): p is string => p !== null);
    if (!found.length)
      return {
        rule: name,
        passed: true,
        message: `No ${rule.artifact} among the ${deps.length} dependencies scanned.`,
      };
    if (!problems.length) {
      return {
        rule: name,
        passed: true,
        message: `${found.map((d) => `${d.name} ${d.version}`).join(', ')}: allowed.`,
      };
    }
    const exempt = exemption(whitelist, app.id, rule.name, now);
    if (exempt) {
      return {
        rule: name,
        passed: true,
        message: `Whitelist applied: ${app.name} is exempt from "${rule.name}" until ${exempt.expiresAt.toISOString()} (${exempt.reason}); otherwise: ${problems.join('; ')}.`,
      };
    }
    return {
      rule: name,
      passed: false,
      message: `${problems.join('; ')}.${rule.message ? ` ${rule.message}` : ''}`,
    };
  });
}
