import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  Info,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { selectsField, selectsPath } from './selection.js';
import { AppConnection, AppMemberType, AppType } from './app.type.js';
import { AppFilter, CreateAppInput, UpdateAppInput } from './app.input.js';
import { PageArgs, decodeCursor, encodeCursor, pageInfo, pageSize } from './connection.type.js';
import { AppRole } from './enums.js';
import type { GraphQLContext } from './context.type.js';
import { presentApp, presentUser, type PresentedApp } from './presenters.js';
import {
  createApp,
  deleteApp,
  getApp,
  listApps,
  setAppMember,
  updateApp,
  viewerMayEditApp,
} from '../domain/apps/app.service.js';
import type { MemberRow } from '../domain/apps/app.repository.js';

/**
 * The App fields that read the wide columns of a record (`listApps`' `details`): a page whose
 * nodes select none of them (through fragments too) reads the narrow columns only. Every
 * other App field reads `localId`/`name` or loads what it shows.
 */
const APP_DETAIL_FIELDS = [
  'description',
  'repository',
  'buildCommand',
  'startCommand',
  'stopCommand',
  'container',
  'releaseConfig',
] as const;

/** An edge of the apps page: its cursor is encoded only when something reads it. */
class AppEdgeValue {
  constructor(readonly node: PresentedApp) {}
  get cursor(): string {
    return encodeCursor({ n: this.node.name });
  }
}

const isAppCursor = (v: unknown): v is { n: string } =>
  typeof v === 'object' && v !== null && 'n' in v && typeof v.n === 'string';

/** Members as GraphQL shows them (their users through presentUser). */
const presentMembers = (rows: readonly MemberRow[]) =>
  rows.map((m) => ({ user: presentUser(m.user), role: m.role }));

@Resolver(() => AppType)
export class AppResolver {
  @Query(() => AppType, { nullable: true, description: 'One app by name, or null.' })
  async app(@Arg('name') name: string, @Ctx() ctx: GraphQLContext) {
    const a = await getApp(ctx.domain, name);
    return a && presentApp(a);
  }

  @Query(() => AppConnection, { description: 'Apps ordered by name.' })
  async apps(
    @Args() page: PageArgs,
    @Arg('filter', () => AppFilter, { nullable: true }) filter: AppFilter | null,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after, isAppCursor);
    // The count is a second scan of the table: only when the query asks for it. The members
    // and their users come in the page's statement when any node asks for them.
    const res = await listApps(ctx.domain, filter ?? {}, first, after?.n, {
      count: selectsField(info, 'totalCount'),
      members: selectsPath(info, ['edges', 'node', 'members']),
      details: APP_DETAIL_FIELDS.some((f) => selectsPath(info, ['edges', 'node', f])),
    });
    const edges = res.items.map((a) => new AppEdgeValue(presentApp(a)));
    // totalCount is null only when it was not selected, so GraphQL never reads it then.
    return {
      edges,
      totalCount: res.totalCount,
      pageInfo: pageInfo(
        edges.length ? [edges[0].cursor, edges[edges.length - 1].cursor] : [],
        res.hasNextPage,
        Boolean(after),
      ),
    };
  }

  @FieldResolver(() => [AppMemberType], { description: 'People with a role on this app.' })
  members(@Root() app: PresentedApp, @Ctx() ctx: GraphQLContext) {
    // Read with the page (`apps`): no statement, no promise. Otherwise one batch per request.
    if (app.memberRows) return presentMembers(app.memberRows);
    return ctx.loaders.membersByAppId.load(app.localId).then(presentMembers);
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether you may change this app (updateApp): OWNER with a WRITE credential, or platform admin.',
  })
  viewerCanEdit(@Root() app: PresentedApp, @Ctx() ctx: GraphQLContext) {
    return viewerMayEditApp(ctx.domain, app.localId);
  }

  @Mutation(() => AppType, { description: 'Registers an app; the caller becomes its OWNER.' })
  async createApp(
    @Arg('input', () => CreateAppInput) input: CreateAppInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentApp(await createApp(ctx.domain, input));
  }

  @Mutation(() => AppType, {
    description: 'Changes an app (OWNER or admin). A stale `expectedVersion` fails with CONFLICT.',
  })
  async updateApp(
    @Arg('name') name: string,
    @Arg('input', () => UpdateAppInput) input: UpdateAppInput,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentApp(await updateApp(ctx.domain, name, input, expectedVersion));
  }

  @Mutation(() => Boolean, { description: 'Deletes an app (OWNER or admin).' })
  deleteApp(@Arg('name') name: string, @Ctx() ctx: GraphQLContext) {
    return deleteApp(ctx.domain, name);
  }

  @Mutation(() => AppType, {
    description:
      'Gives `username` a role on the app; a null role removes them. The last OWNER cannot be removed.',
  })
  async setAppMember(
    @Arg('app') app: string,
    @Arg('username') username: string,
    @Arg('role', () => AppRole, { nullable: true }) role: AppRole | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentApp(await setAppMember(ctx.domain, app, username, role ?? null));
  }
}
