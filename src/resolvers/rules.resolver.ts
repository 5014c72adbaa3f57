import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import {
  DependencyRuleType,
  MaintenanceWindowType,
  SettingsType,
  WhitelistEntryType,
} from './rules.type.js';
import { DependencyRuleInput, MaintenanceWindowInput, WhitelistEntryInput } from './rules.input.js';
import { localId, toGlobalId } from './global-id.js';
import type { GraphQLContext } from './context.type.js';
import type {
  DependencyRuleRecord,
  MaintenanceWindowRecord,
  WhitelistEntryRecord,
} from '../domain/rules/rule-model.js';
import {
  activeUntil,
  createDependencyRule,
  createMaintenanceWindow,
  createWhitelistEntry,
  deleteDependencyRule,
  deleteMaintenanceWindow,
  deleteWhitelistEntry,
  getSettings,
  updateMaintenanceWindow,
} from '../domain/rules/rules.service.js';

const presentWindow = (w: MaintenanceWindowRecord): MaintenanceWindowType => ({
  ...w,
  id: toGlobalId('MaintenanceWindow', w.id),
  activeUntil: activeUntil(w),
});
const presentRule = (r: DependencyRuleRecord): DependencyRuleType => ({
  ...r,
  id: toGlobalId('DependencyRule', r.id),
});
const presentEntry = (e: WhitelistEntryRecord): WhitelistEntryType => ({
  ...e,
  id: toGlobalId('WhitelistEntry', e.id),
  expired: e.expiresAt.getTime() <= Date.now(),
});

@Resolver()
export class RulesResolver {
  @Query(() => SettingsType, {
    description:
      'The admin rules: maintenance windows, dependency rules, whitelist (any signed-in user).',
  })
  async settings(@Ctx() ctx: GraphQLContext): Promise<SettingsType> {
    const s = await getSettings(ctx.domain);
    return {
      maintenanceWindows: s.maintenanceWindows.map(presentWindow),
      dependencyRules: s.dependencyRules.map(presentRule),
      whitelist: s.whitelist.map(presentEntry),
      viewerCanEdit: s.viewerCanEdit,
    };
  }

  @Mutation(() => MaintenanceWindowType, {
    description: 'Creates a maintenance window (admins only).',
  })
  async createMaintenanceWindow(
    @Arg('input', () => MaintenanceWindowInput) input: MaintenanceWindowInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentWindow(await createMaintenanceWindow(ctx.domain, input));
  }

  @Mutation(() => MaintenanceWindowType, {
    description: 'Replaces a maintenance window (admins only).',
  })
  async updateMaintenanceWindow(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => MaintenanceWindowInput) input: MaintenanceWindowInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentWindow(
      await updateMaintenanceWindow(ctx.domain, localId(id, 'MaintenanceWindow'), input),
    );
  }

  @Mutation(() => Boolean, { description: 'Deletes a maintenance window (admins only).' })
  async deleteMaintenanceWindow(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return deleteMaintenanceWindow(ctx.domain, localId(id, 'MaintenanceWindow'));
  }

  @Mutation(() => DependencyRuleType, { description: 'Creates a dependency rule (admins only).' })
  async createDependencyRule(
    @Arg('input', () => DependencyRuleInput) input: DependencyRuleInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentRule(await createDependencyRule(ctx.domain, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a dependency rule (admins only).' })
  async deleteDependencyRule(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return deleteDependencyRule(ctx.domain, localId(id, 'DependencyRule'));
  }

  @Mutation(() => WhitelistEntryType, {
    description: 'Exempts an app from one named rule until expiresAt (admins only).',
  })
  async createWhitelistEntry(
    @Arg('input', () => WhitelistEntryInput) input: WhitelistEntryInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentEntry(await createWhitelistEntry(ctx.domain, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a whitelist entry (admins only).' })
  async deleteWhitelistEntry(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return deleteWhitelistEntry(ctx.domain, localId(id, 'WhitelistEntry'));
  }
}
