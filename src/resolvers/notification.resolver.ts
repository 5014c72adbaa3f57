import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from './context.type.js';
import { PageArgs, decodeCursor, encodeCursor, pageInfo, pageSize } from './connection.type.js';
import { localId, toGlobalId } from './global-id.js';
import {
  NotificationDeliveryConnection,
  NotificationDeliveryType,
  NotificationRouteConnection,
  NotificationRouteType,
} from './notification.type.js';
import {
  CreateNotificationRouteInput,
  NotificationDeliveryFilter,
  UpdateNotificationRouteInput,
} from './notification.input.js';
import {
  createNotificationRoute,
  deleteNotificationRoute,
  listNotificationRoutes,
  updateNotificationRoute,
  type NotificationRouteRecord,
} from '../domain/notify/notification-route.service.js';
import {
  listNotificationDeliveries,
  retryNotificationDelivery,
  type NotificationDeliveryRecord,
} from '../domain/notify/notification-delivery.service.js';
import { notifierOf } from '../domain/notify/notifier.js';

const isIdCursor = (v: unknown): v is { i: string } =>
  typeof v === 'object' &&
  v !== null &&
  'i' in v &&
  typeof v.i === 'string' &&
  /^\d{1,18}$/.test(v.i);

function presentRoute(r: NotificationRouteRecord) {
  return { ...r, id: toGlobalId('NotificationRoute', r.id) };
}

function presentDelivery(d: NotificationDeliveryRecord) {
  const digest = (id: string | null | undefined) =>
    id != null ? toGlobalId('NotificationDelivery', id) : null;
  return {
    ...d,
    id: toGlobalId('NotificationDelivery', d.id),
    routeId: toGlobalId('NotificationRoute', d.routeId),
    digestId: digest(d.digestId),
    attemptLog: d.attemptLog.map((a) => ({
      at: a.at,
      outcome: a.outcome,
      httpStatus: a.httpStatus ?? null,
      vendorCode: a.vendorCode ?? null,
      message: a.message ?? null,
      digestId: digest(a.digestId),
    })),
  };
}

@Resolver()
export class NotificationResolver {
  @Query(() => NotificationRouteConnection, {
    description:
      "Notification routes you manage: all for admins, your apps' for app OWNERs. `app` narrows to one app.",
  })
  async notificationRoutes(
    @Args() page: PageArgs,
    @Arg('app', () => String, { nullable: true }) app: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after, isIdCursor);
    const res = await listNotificationRoutes(
      ctx.domain,
      first,
      after ? Number(after.i) : undefined,
      app,
    );
    const edges = res.items.map((r) => ({
      cursor: encodeCursor({ i: String(r.id) }),
      node: presentRoute(r),
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

  @Query(() => NotificationDeliveryConnection, {
    description:
      "Notification deliveries, newest first: all for admins, those of your apps' routes for app OWNERs.",
  })
  async notificationDeliveries(
    @Args() page: PageArgs,
    @Arg('filter', () => NotificationDeliveryFilter, { nullable: true })
    filter: NotificationDeliveryFilter | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after, isIdCursor);
    const routeId = filter?.route
      ? localId(filter.route, 'NotificationRoute', 'filter.route')
      : null;
    const res = await listNotificationDeliveries(
      ctx.domain,
      { routeId, status: filter?.status, app: filter?.app },
      first,
      after?.i,
    );
    const edges = res.items.map((d) => ({
      cursor: encodeCursor({ i: d.id }),
      node: presentDelivery(d),
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

  @Mutation(() => NotificationRouteType, {
    description: "Creates a route: global (no app) for admins, an app's for its OWNERs.",
  })
  async createNotificationRoute(
    @Arg('input', () => CreateNotificationRouteInput) input: CreateNotificationRouteInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentRoute(await createNotificationRoute(ctx.domain, input));
  }

  @Mutation(() => NotificationRouteType, {
    description: "Changes a route (its app's OWNER, or an admin).",
  })
  async updateNotificationRoute(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateNotificationRouteInput) input: UpdateNotificationRouteInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentRoute(
      await updateNotificationRoute(ctx.domain, localId(id, 'NotificationRoute'), input),
    );
  }

  @Mutation(() => Boolean, {
    description:
      "Deletes a route (its app's OWNER, or an admin). Deliveries still queued for it end DEAD.",
  })
  deleteNotificationRoute(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return deleteNotificationRoute(ctx.domain, localId(id, 'NotificationRoute'));
  }

  @Mutation(() => NotificationDeliveryType, {
    description:
      "Re-queues a DEAD delivery with a fresh set of attempts (its route's app OWNER, or an admin).",
  })
  async retryNotificationDelivery(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const d = await retryNotificationDelivery(
      ctx.domain,
      String(localId(id, 'NotificationDelivery')),
    );
    notifierOf(ctx.services)?.dispatcher.wake();
    return presentDelivery(d);
  }
}
