import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Int,
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
import type { PresentedApp } from './presenters.js';
import { BuildConnection, BuildLogChunkType, BuildLogType, BuildType } from './build.type.js';
import { ReleaseType } from './release.type.js';
import type { PresentedRelease } from './release.resolver.js';
import {
  authorizeBuildLog,
  buildLog,
  cancelBuild,
  getBuild,
  listBuilds,
  triggerBuild,
  viewerMayBuild,
  viewerMayCancelBuild,
} from '../domain/builds/build.service.js';
import type { BuildRecord } from '../domain/builds/build-model.js';
import { mapIterator } from './map-iterator.js';
import { DomainError, badInput } from '../domain/shared/errors.js';

/** A build for GraphQL: the record with its global id (`localId` kept for field resolvers). */
export type PresentedBuild = BuildType & { localId: number; appId: number; __typename: 'Build' };

export function presentBuild(b: BuildRecord): PresentedBuild {
  return {
    __typename: 'Build',
    id: toGlobalId('Build', b.id),
    localId: b.id,
    appId: b.appId,
    app: b.app,
    number: b.number,
    ref: b.ref,
    commit: b.commit,
    status: b.status,
    image: b.image,
    dependencies: b.dependencies,
    message: b.message,
    cancelRequested: b.cancelRequested,
    triggeredBy: b.triggeredBy,
    createdAt: b.createdAt,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
  };
}

const isBuildCursor = (v: unknown): v is { n: number } =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as { n?: unknown }).n);

/** graphql-ws sends a subscribe-time error as-is: keep the domain code. */
function asGraphQLError(e: unknown): unknown {
  return e instanceof DomainError
    ? new GraphQLError(e.message, { extensions: { code: e.code, ...e.details } })
    : e;
}

@Resolver(() => BuildType)
export class BuildResolver {
  @Query(() => BuildType, {
    nullable: true,
    description: 'One build by id (null if it does not exist).',
  })
  async build(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const b = await getBuild(ctx.domain, localId(id, 'Build'));
    return b && presentBuild(b);
  }

  @FieldResolver(() => BuildLogType, {
    description:
      'A page of the log: lines from `offset` (default 0), at most `limit` (default and most 5000).',
  })
  async log(
    @Root() b: PresentedBuild,
    @Arg('offset', () => Int, { nullable: true }) offset: number | null,
    @Arg('limit', () => Int, { nullable: true }) limit: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const page = await buildLog(ctx.domain, b.localId, offset, limit);
    return { lines: page.lines.map((l) => l.text), nextOffset: page.nextOffset };
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether you may cancel it now (cancelBuild): DEVELOPER or above with a WRITE credential, and it has not ended and no cancel is pending.',
  })
  viewerCanCancel(@Root() b: PresentedBuild, @Ctx() ctx: GraphQLContext) {
    return viewerMayCancelBuild(ctx.domain, b);
  }

  @Mutation(() => BuildType, {
    description:
      "Builds the app at `ref` (default: the repository's default branch) on a worker (DEVELOPER or above on the app). Follow `buildLog` for its log.",
  })
  async triggerBuild(
    @Arg('app') app: string,
    @Arg('ref', () => String, { nullable: true }) ref: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentBuild(await triggerBuild(ctx.domain, app, ref));
  }

  @Mutation(() => BuildType, {
    description:
      'Stops a build (DEVELOPER or above): a QUEUED one ends CANCELED at once, a RUNNING one has its processes killed.',
  })
  async cancelBuild(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return presentBuild(await cancelBuild(ctx.domain, localId(id, 'Build')));
  }

  @Subscription(() => BuildLogChunkType, {
    description:
      'The log of a build as it is written, from `offset` (default 0: replayed first, then live); completes once the build ended and every line was sent.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      try {
        const a = args as { id: string; offset?: number | null };
        const id = localId(a.id, 'Build');
        const offset = a.offset ?? 0;
        if (!Number.isSafeInteger(offset) || offset < 0)
          throw badInput('offset', 'offset is 0 or more.');
        await authorizeBuildLog(ctx.domain, id);
        const feed = ctx.services.buildLog;
        if (!feed)
          throw new DomainError('UNAVAILABLE', 'Live build logs are not running in this process.');
        const source = feed.subscribe(id, offset);
        return mapIterator(source, (c) => ({
          offset: c.offset,
          lines: c.lines.map((l) => l.text),
          nextOffset: c.nextOffset,
        }));
      } catch (e) {
        throw asGraphQLError(e);
      }
    },
  })
  buildLog(
    @Root() c: BuildLogChunkType,
    @Arg('id', () => ID) _id: string,
    @Arg('offset', () => Int, {
      nullable: true,
      description: 'Where to start (a `nextOffset` you received); default 0.',
    })
    _offset: number | null,
  ): BuildLogChunkType {
    return c;
  }
}

@Resolver(() => AppType)
export class AppBuildsResolver {
  @FieldResolver(() => Boolean, {
    description:
      'Whether you may trigger builds of this app (triggerBuild): DEVELOPER or above with a WRITE credential, or platform admin.',
  })
  viewerCanBuild(@Root() app: PresentedApp, @Ctx() ctx: GraphQLContext) {
    return viewerMayBuild(ctx.domain, app.localId);
  }

  @FieldResolver(() => BuildConnection, { description: "The app's builds, newest first." })
  async builds(@Root() app: PresentedApp, @Args() p: PageArgs, @Ctx() ctx: GraphQLContext) {
    const first = pageSize(p.first);
    const after = decodeCursor(p.after, isBuildCursor);
    const res = await listBuilds(ctx.domain, app.localId, first, after?.n);
    const edges = res.items.map((b) => ({
      cursor: encodeCursor({ n: b.number }),
      node: presentBuild(b),
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
}

@Resolver(() => ReleaseType)
export class ReleaseBuildResolver {
  @FieldResolver(() => BuildType, {
    nullable: true,
    description:
      'The build this release ships (createRelease with `buildId`, an auto-release, or the build it started).',
  })
  async build(@Root() r: PresentedRelease, @Ctx() ctx: GraphQLContext) {
    if (r.buildId == null) return null;
    const b = await getBuild(ctx.domain, r.buildId);
    return b && presentBuild(b);
  }
}
