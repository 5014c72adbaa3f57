/** `payload.setting` of the SETTINGS_CHANGED events about admin rules (rules.service.ts). */
export const RuleSetting = {
  MAINTENANCE_WINDOW: 'maintenanceWindow',
  DEPENDENCY_RULE: 'dependencyRule',
  WHITELIST_ENTRY: 'whitelistEntry',
} as const;

const RULE_SETTINGS: ReadonlySet<unknown> = new Set(Object.values(RuleSetting));

/** Whether a SETTINGS_CHANGED `payload.setting` is about admin rules (every signed-in user sees those events). */
export const isRuleSetting = (setting: unknown): boolean => RULE_SETTINGS.has(setting);
