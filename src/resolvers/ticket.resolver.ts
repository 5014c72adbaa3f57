import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { TicketConnection, TicketType } from './ticket.type.js';
import { TicketFilter } from './ticket.input.js';
import { AppType } from './app.type.js';
import { AppRole } from './enums.js';
import { PageArgs, decodeCursor, encodeCursor, pageInfo, pageSize } from './connection.type.js';
import { localId } from './global-id.js';
import type { GraphQLContext } from './context.type.js';
import { presentApp, presentTicket, type PresentedTicket } from './presenters.js';
import {
  approveTicket,
  getTicket,
  listTickets,
  rejectTicket,
  requestAccess,
  viewerCanDecide,
} from '../domain/tickets/ticket.service.js';

const isIdCursor = (v: unknown): v is { i: number } =>
  typeof v === 'object' &&
  v !== null &&
  'i' in v &&
  typeof v.i === 'number' &&
  Number.isSafeInteger(v.i) &&
  v.i > 0;

@Resolver(() => TicketType)
export class TicketResolver {
  @Query(() => TicketType, {
    description:
      'One ticket you may see (requester, app member, platform admin); NOT_FOUND otherwise.',
  })
  async ticket(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return presentTicket(await getTicket(ctx.domain, localId(id, 'Ticket')));
  }

  @Query(() => TicketConnection, {
    description: "Tickets you may see (yours, your apps', all for platform admins), newest first.",
  })
  async tickets(
    @Args() page: PageArgs,
    @Arg('filter', () => TicketFilter, { nullable: true }) filter: TicketFilter | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after, isIdCursor);
    const res = await listTickets(ctx.domain, filter ?? {}, first, after?.i);
    const edges = res.items.map((t) => ({
      cursor: encodeCursor({ i: t.id }),
      node: presentTicket(t),
    }));
    return {
      edges,
      pageInfo: pageInfo(
        edges.map((e) => e.cursor),
        res.hasNextPage,
        Boolean(after),
      ),
    };
  }

  @FieldResolver(() => AppType, {
    nullable: true,
    description: 'The app (null once it is deleted; `appName` stays).',
  })
  async app(@Root() t: PresentedTicket, @Ctx() ctx: GraphQLContext) {
    const a = await ctx.loaders.appById.load(t.appId);
    // The id, not the name: a new app of the same name is not this ticket's app.
    return a && presentApp(a);
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether you may approve or reject it now: OPEN, you are an OWNER of the app or a platform admin, and not its requester.',
  })
  viewerCanDecide(@Root() t: PresentedTicket, @Ctx() ctx: GraphQLContext) {
    return viewerCanDecide(ctx.domain, t);
  }

  @Mutation(() => TicketType, {
    description:
      'Asks for `role` on an app; an OWNER (or a platform admin) approves or rejects. One open request per app and person.',
  })
  async requestAccess(
    @Arg('app') app: string,
    @Arg('role', () => AppRole) role: AppRole,
    @Arg('reason') reason: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentTicket(await requestAccess(ctx.domain, app, role, reason));
  }

  @Mutation(() => TicketType, {
    description:
      'Approves an OPEN ticket (an OWNER of its app or a platform admin; never its requester). Approving an access request grants the role.',
  })
  async approveTicket(
    @Arg('id', () => ID) id: string,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentTicket(await approveTicket(ctx.domain, localId(id, 'Ticket'), comment));
  }

  @Mutation(() => TicketType, {
    description:
      'Rejects an OPEN ticket (an OWNER of its app or a platform admin; never its requester).',
  })
  async rejectTicket(
    @Arg('id', () => ID) id: string,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentTicket(await rejectTicket(ctx.domain, localId(id, 'Ticket'), comment));
  }
}
