import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { Node } from './node.type.js';
import type { GraphQLContext } from './context.type.js';
import { canonicalLocalId, fromGlobalId } from './global-id.js';
import { presentApp, presentEnvironment, presentTicket, presentUser } from './presenters.js';
import { requireViewer } from '../domain/shared/authz.js';
import { App } from '../domain/apps/app.entity.js';
import { Environment } from '../domain/settings/environment.entity.js';
import { toRecord } from '../domain/apps/app.service.js';
import { getRelease } from '../domain/releases/release.service.js';
import { presentRelease } from './release.resolver.js';
import { getTicket } from '../domain/tickets/ticket.service.js';
import { getBuild } from '../domain/builds/build.service.js';
import { presentBuild } from './build.resolver.js';
import { DomainError } from '../domain/shared/errors.js';

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    nullable: true,
    description:
      'Fetches any object by its global id (null if it does not exist). A non-canonical spelling of an id (not exactly as Phantom gave it) is NOT_FOUND.',
  })
  async node(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    requireViewer(ctx.viewer);
    const g = fromGlobalId(id);
    // One object, one id: a non-canonical spelling (`App:0x1`, `App: 1`) names nothing.
    const n = canonicalLocalId(id, g.type);
    if (n == null)
      throw new DomainError('NOT_FOUND', `Nothing has the id "${id}".`, { field: 'id' });
    switch (g.type) {
      case 'App': {
        const a = await ctx.em.findOne(App, { id: n });
        return a && presentApp(toRecord(a));
      }
      case 'User': {
        const u = await ctx.loaders.userById.load(n);
        return u && presentUser(u);
      }
      case 'Environment': {
        const e = await ctx.em.findOne(Environment, { id: n });
        return e && presentEnvironment(e);
      }
      case 'Release': {
        const r = await getRelease(ctx.domain, n);
        return r && presentRelease(r);
      }
      case 'Build': {
        const b = await getBuild(ctx.domain, n);
        return b && presentBuild(b);
      }
      case 'Ticket': {
        try {
          return presentTicket(await getTicket(ctx.domain, n));
        } catch (e) {
          // A ticket you may not see answers like one that does not exist: null.
          if (e instanceof DomainError && e.code === 'NOT_FOUND') return null;
          throw e;
        }
      }
      default:
        return null;
    }
  }
}
