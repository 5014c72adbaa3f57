import { Arg, Args, Ctx, Query, Resolver, Root, Subscription } from 'type-graphql';
import { GraphQLError } from 'graphql';
import type { SubscribeResolverData } from 'type-graphql';
import {
  PlatformEventConnection,
  PlatformEventObject,
  PlatformEventOrder,
} from './platform-event.type.js';
import { PlatformEventFilter } from './platform-event.input.js';
import { PageArgs, decodeCursor, encodeCursor, pageInfo, pageSize } from './connection.type.js';
import type { GraphQLContext } from './context.type.js';
import {
  listPlatformEvents,
  parseEventId,
  subscribePlatformEvents,
} from '../domain/events/platform-event.service.js';
import type { PlatformEventRecord } from '../domain/events/platform-event.record.js';
import { eventFeedOf } from '../domain/events/event-outbox.js';
import { DomainError } from '../domain/shared/errors.js';

const isEventCursor = (v: unknown): v is { e: string } => {
  const e = typeof v === 'object' && v !== null ? (v as { e?: unknown }).e : undefined;
  return typeof e === 'string' && /^\d{1,18}$/.test(e);
};

const present = (e: PlatformEventRecord): PlatformEventObject => e as PlatformEventObject;

interface SubscriptionArgs {
  filter?: PlatformEventFilter | null;
  after?: string | null;
}

/**
 * graphql-ws sends a subscribe-time error as-is (Apollo's formatError is HTTP only), so a
 * domain error becomes a GraphQLError here to keep its stable `extensions.code`.
 */
async function startSubscription({
  args,
  context,
}: SubscribeResolverData<unknown, SubscriptionArgs, GraphQLContext>) {
  try {
    return await subscribePlatformEvents(
      context.domain,
      eventFeedOf(context.services),
      args.filter ?? {},
      args.after,
    );
  } catch (e) {
    if (e instanceof DomainError)
      throw new GraphQLError(e.message, { extensions: { code: e.code, ...e.details } });
    throw e;
  }
}

@Resolver(() => PlatformEventObject)
export class PlatformEventResolver {
  @Query(() => PlatformEventConnection, {
    description:
      'Platform event history by id: oldest first by default (read on with `after`, then subscribe with the last id), or newest first.',
  })
  async platformEvents(
    @Args() page: PageArgs,
    @Arg('filter', () => PlatformEventFilter, { nullable: true })
    filter: PlatformEventFilter | null,
    @Arg('order', () => PlatformEventOrder, { defaultValue: PlatformEventOrder.OLDEST_FIRST })
    order: PlatformEventOrder,
    @Ctx() ctx: GraphQLContext,
  ) {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after, isEventCursor);
    const res = await listPlatformEvents(
      ctx.domain,
      filter ?? {},
      first,
      parseEventId(after?.e, 'after'),
      order === PlatformEventOrder.NEWEST_FIRST ? 'desc' : 'asc',
    );
    const edges = res.items.map((e) => ({ cursor: encodeCursor({ e: e.id }), node: present(e) }));
    return {
      edges,
      pageInfo: pageInfo(
        edges.map((e) => e.cursor),
        res.hasNextPage,
        Boolean(after),
      ),
    };
  }

  @Subscription(() => PlatformEventObject, {
    name: 'platformEvents',
    description:
      'Platform events as they happen, each checked against your read rights. With `after` (the id of the last event you saw) the ones since are replayed first, with no duplicate and no gap.',
    subscribe: startSubscription,
  })
  platformEventsLive(
    @Root() event: PlatformEventRecord,
    @Arg('filter', () => PlatformEventFilter, { nullable: true })
    _filter: PlatformEventFilter | null,
    @Arg('after', () => String, {
      nullable: true,
      description: 'Id of the last event seen; omitted: only new events.',
    })
    _after: string | null,
  ): PlatformEventObject {
    return present(event);
  }
}
