import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { EnvironmentInput, EnvironmentType } from './environment.type.js';
import type { GraphQLContext } from './context.type.js';
import { presentEnvironment } from './presenters.js';
import { listEnvironments, upsertEnvironment } from '../domain/settings/environment.service.js';

@Resolver()
export class EnvironmentResolver {
  @Query(() => [EnvironmentType], {
    description: 'Platform environments (dev, test, prod by default), in display order.',
  })
  async environments(@Ctx() ctx: GraphQLContext) {
    return (await listEnvironments(ctx.domain)).map(presentEnvironment);
  }

  @Mutation(() => EnvironmentType, {
    description: 'Creates or replaces an environment (admins only).',
  })
  async upsertEnvironment(
    @Arg('input', () => EnvironmentInput) input: EnvironmentInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentEnvironment(await upsertEnvironment(ctx.domain, input));
  }
}
