import { requireViewer } from '../domain/shared/authz.js';
import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { GraphQLError } from 'graphql';
import { AppType } from './app.type.js';
import type { GraphQLContext } from './context.type.js';
import { PageArgs, decodeCursor, encodeCursor, pageInfo, pageSize } from './connection.type.js';
import { localId, toGlobalId } from './global-id.js';
import { presentTicket, type PresentedApp, type PresentedTicket } from './presenters.js';
import { TicketType } from './ticket.type.js';
import { getTicket } from '../domain/tickets/ticket.service.js';
import { CreateReleaseInput, ReleaseFilter } from './release.input.js';
import { ReleaseConnection, ReleaseProgressType, ReleaseType } from './release.type.js';
import {
  authorizeReleaseProgress,
  cancelRelease,
  createRelease,
  getRelease,
  listReleases,
  promoteRelease,
  releaseProgressStart,
  rollbackRelease,
  viewerMayActOnRelease,
  viewerMayRelease,
} from '../domain/releases/release.service.js';
import type { ReleaseProgressRecord, ReleaseRecord } from '../domain/releases/release-model.js';
import { emptyIterator, mapIterator } from './map-iterator.js';
import { DomainError, badInput } from '../domain/shared/errors.js';

/** A release for GraphQL: the record with its global id (`localId` kept for field resolvers). */
export type PresentedRelease = ReleaseType & {
  localId: number;
  appId: number;
  rollbackOfId: number | null;
  ticketId: number | null;
  buildId: number | null;
  __typename: 'Release';
};

export function presentRelease(r: ReleaseRecord): PresentedRelease {
  const date = (v: string | null): Date | null => (v ? new Date(v) : null);
  return {
    __typename: 'Release',
    id: toGlobalId('Release', r.id),
    localId: r.id,
    appId: r.appId,
    app: r.app,
    env: r.env,
    image: r.image,
    status: r.status,
    strategy: r.strategy,
    prechecks: r.prechecks,
    clusters: r.clusters,
    createdBy: r.createdBy,
    description: r.description,
    message: r.message,
    cancelRequested: r.cancelRequested,
    createdAt: r.createdAt,
    startedAt: date(r.startedAt),
    finishedAt: date(r.finishedAt),
    steps: r.steps.map((s) => ({
      ...s,
      startedAt: date(s.startedAt),
      finishedAt: date(s.finishedAt),
    })),
    rollbackOfId: r.rollbackOf,
    ticketId: r.ticketId,
    buildId: r.buildId,
  };
}

function presentProgress(base: ReleaseRecord, p: ReleaseProgressRecord): ReleaseProgressType {
  return {
    sequence: String(p.seq),
    kind: p.kind,
    message: p.message,
    at: p.at,
    release: presentRelease({ ...base, ...p.state, cancelRequested: false }),
  };
}

const isReleaseCursor = (v: unknown): v is { r: number } =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as { r?: unknown }).r);

function page(items: ReleaseRecord[], hasNextPage: boolean, after: unknown): ReleaseConnection {
  const edges = items.map((r) => ({ cursor: encodeCursor({ r: r.id }), node: presentRelease(r) }));
  return {
    edges,
    pageInfo: pageInfo(
      edges.map((e) => e.cursor),
      hasNextPage,
      Boolean(after),
    ),
  };
}

/** graphql-ws sends a subscribe-time error as-is: keep the domain code. */
function asGraphQLError(e: unknown): unknown {
  return e instanceof DomainError
    ? new GraphQLError(e.message, { extensions: { code: e.code, ...e.details } })
    : e;
}

function parseSequence(after: string | null | undefined): number {
  if (after == null) return 0;
  if (!/^\d{1,9}$/.test(after))
    throw badInput(
      'after',
      `"${after}" is not a progress sequence (give the last \`sequence\` you received).`,
    );
  return Number(after);
}

@Resolver(() => ReleaseType)
export class ReleaseResolver {
  @Query(() => ReleaseType, {
    nullable: true,
    description: 'One release by id (null if it does not exist).',
  })
  async release(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const r = await getRelease(ctx.domain, localId(id, 'Release'));
    return r && presentRelease(r);
  }

  @Query(() => ReleaseConnection, { description: 'Releases across apps, newest first.' })
  async releases(
    @Args() p: PageArgs,
    @Arg('filter', () => ReleaseFilter, { nullable: true }) filter: ReleaseFilter | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const first = pageSize(p.first);
    const after = decodeCursor(p.after, isReleaseCursor);
    const res = await listReleases(ctx.domain, filter ?? {}, first, after?.r);
    return page(res.items, res.hasNextPage, after);
  }

  @FieldResolver(() => ReleaseType, {
    nullable: true,
    description: 'The release this one rolls back (rollbackRelease).',
  })
  async rollbackOf(@Root() r: PresentedRelease, @Ctx() ctx: GraphQLContext) {
    if (r.rollbackOfId == null) return null;
    const o = await getRelease(ctx.domain, r.rollbackOfId);
    return o && presentRelease(o);
  }

  @FieldResolver(() => TicketType, {
    nullable: true,
    description:
      'The approval ticket (environments that require approval); null when you may not see it.',
  })
  async ticket(@Root() r: PresentedRelease, @Ctx() ctx: GraphQLContext) {
    if (r.ticketId == null) return null;
    try {
      return presentTicket(await getTicket(ctx.domain, r.ticketId));
    } catch (e) {
      if (e instanceof DomainError && e.code === 'NOT_FOUND') return null;
      throw e;
    }
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether you may cancel it now (cancelRelease): DEVELOPER or above with a WRITE credential, and it has not ended, is not rolling back and no cancel is pending.',
  })
  viewerCanCancel(@Root() r: PresentedRelease, @Ctx() ctx: GraphQLContext) {
    return viewerMayActOnRelease(ctx.domain, { ...r, id: r.localId }, 'cancel');
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether you may promote it now (promoteRelease): DEVELOPER or above with a WRITE credential, and it is a PAUSED canary.',
  })
  viewerCanPromote(@Root() r: PresentedRelease, @Ctx() ctx: GraphQLContext) {
    return viewerMayActOnRelease(ctx.domain, { ...r, id: r.localId }, 'promote');
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether you may roll it back now (rollbackRelease): DEVELOPER or above with a WRITE credential, it has ended, and an earlier release in its environment SUCCEEDED.',
  })
  viewerCanRollback(@Root() r: PresentedRelease, @Ctx() ctx: GraphQLContext) {
    return viewerMayActOnRelease(ctx.domain, { ...r, id: r.localId }, 'rollback');
  }

  @Mutation(() => ReleaseType, {
    description:
      'Starts a release (DEVELOPER or above on the app) of `image`, of a SUCCEEDED build (`buildId`), or, with neither, of a build of the default branch it starts first (status BUILDING). One active release per app and environment: a second one is CONFLICT.',
  })
  async createRelease(
    @Arg('input', () => CreateReleaseInput) input: CreateReleaseInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const buildId = input.buildId != null ? localId(input.buildId, 'Build', 'buildId') : null;
    return presentRelease(await createRelease(ctx.domain, { ...input, buildId }));
  }

  @Mutation(() => ReleaseType, {
    description:
      'Stops a release before its next step (DEVELOPER or above); waves already deployed are rolled back to the last successful release. The answer has `cancelRequested`; follow `releaseProgress` for the end.',
  })
  async cancelRelease(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return presentRelease(await cancelRelease(ctx.domain, localId(id, 'Release')));
  }

  @Mutation(() => ReleaseType, {
    description:
      'A new release that puts the environment back on the spec of the last release that SUCCEEDED before `id` (DEVELOPER or above).',
  })
  async rollbackRelease(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return presentRelease(await rollbackRelease(ctx.domain, localId(id, 'Release')));
  }

  @Mutation(() => ReleaseType, {
    description: 'Continues a canary release that is PAUSED (DEVELOPER or above).',
  })
  async promoteRelease(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return presentRelease(await promoteRelease(ctx.domain, localId(id, 'Release')));
  }

  @Subscription(() => ReleaseProgressType, {
    description:
      'Every status, step and pod-count change of a release, in order, then complete after its end. With `after` (the last `sequence` you saw) what you missed is replayed first; without it, everything from the start.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      try {
        const a = args as { id: string; after?: string | null };
        const id = localId(a.id, 'Release');
        const after = parseSequence(a.after);
        const base = await authorizeReleaseProgress(ctx.domain, id);
        const feed = ctx.services.releaseProgress;
        if (!feed)
          throw new DomainError(
            'UNAVAILABLE',
            'Live release progress is not running in this process.',
          );
        const { ended } = await releaseProgressStart(ctx.domain, base, after);
        if (ended) return emptyIterator<ReleaseProgressType>();
        const source = feed.subscribe(id, after);
        return mapIterator(source, (entry) => presentProgress(base, entry));
      } catch (e) {
        throw asGraphQLError(e);
      }
    },
  })
  releaseProgress(
    @Root() p: ReleaseProgressType,
    @Arg('id', () => ID) _id: string,
    @Arg('after', () => String, {
      nullable: true,
      description: 'The last `sequence` you received; omitted: from the first entry.',
    })
    _after: string | null,
  ): ReleaseProgressType {
    return p;
  }
}

@Resolver(() => TicketType)
export class TicketReleaseResolver {
  @FieldResolver(() => ReleaseType, {
    nullable: true,
    description: 'The release a RELEASE_APPROVAL ticket approves.',
  })
  async release(@Root() t: PresentedTicket, @Ctx() ctx: GraphQLContext) {
    if (t.releaseId == null) return null;
    const r = await getRelease(ctx.domain, t.releaseId);
    return r && presentRelease(r);
  }
}

@Resolver(() => AppType)
export class AppReleasesResolver {
  @FieldResolver(() => Boolean, {
    description:
      'Whether you may start releases of this app (createRelease): DEVELOPER or above with a WRITE credential, or platform admin.',
  })
  viewerCanRelease(@Root() app: PresentedApp, @Ctx() ctx: GraphQLContext) {
    return viewerMayRelease(ctx.domain, app.localId);
  }

  @FieldResolver(() => ReleaseConnection, {
    description: "The app's releases, newest first (optionally in one environment).",
  })
  async releases(
    @Root() app: PresentedApp,
    @Args() p: PageArgs,
    @Arg('env', () => String, { nullable: true }) env: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const first = pageSize(p.first);
    const after = decodeCursor(p.after, isReleaseCursor);
    if (!after) {
      // The first page: batched over every app of the response (one statement per page of apps).
      requireViewer(ctx.viewer);
      const rows = await ctx.loaders.appReleases.load({ appId: app.localId, env, first });
      return page(rows.slice(0, first), rows.length > first, after);
    }
    const res = await listReleases(ctx.domain, { app: app.name, env }, first, after.r);
    return page(res.items, res.hasNextPage, after);
  }
}
