import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, decodeCursor, encodeCursor, pageInfo, pageSize } from './connection.type.js';
import {
  ApiTokenType,
  CreatedApiTokenType,
  SessionType,
  UserConnection,
  UserType,
} from './user.type.js';
import { CreateUserInput } from './user.input.js';
import { TokenScope } from './enums.js';
import type { GraphQLContext } from './context.type.js';
import { presentApiToken, presentUser, type PresentedUser } from './presenters.js';
import { canSeeAdminFlag } from '../domain/people/viewer.js';
import { localId } from './global-id.js';
import {
  createApiToken,
  createUser,
  listApiTokens,
  listUsers,
  login,
  logout,
  revokeApiToken,
} from '../domain/people/auth.service.js';
import { requireViewer } from '../domain/shared/authz.js';
import { unauthenticated } from '../domain/shared/errors.js';

const isUserCursor = (v: unknown): v is { u: string } =>
  typeof v === 'object' && v !== null && 'u' in v && typeof v.u === 'string';

@Resolver()
export class UserResolver {
  @Query(() => UserConnection, {
    description: 'Every user, ordered by username (platform admins only).',
  })
  async users(@Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after, isUserCursor);
    const res = await listUsers(ctx.domain, first, after?.u);
    const edges = res.items.map((u) => ({
      cursor: encodeCursor({ u: u.username }),
      node: presentUser(u),
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

  @Query(() => UserType, { description: 'The signed-in caller.' })
  async viewer(@Ctx() ctx: GraphQLContext) {
    const v = requireViewer(ctx.viewer);
    const user = await ctx.loaders.userById.load(v.userId);
    if (!user) throw unauthenticated('Your user no longer exists.');
    return presentUser(user);
  }

  @Query(() => [ApiTokenType], { description: 'Your live API tokens, newest first.' })
  async apiTokens(@Ctx() ctx: GraphQLContext) {
    return (await listApiTokens(ctx.domain)).map(presentApiToken);
  }

  @Mutation(() => SessionType, {
    description: 'Signs in with a password; the session expires after PHANTOM_SESSION_TTL_SECONDS.',
  })
  async login(
    @Arg('username') username: string,
    @Arg('password') password: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    const s = await login(ctx.domain, username, password);
    return { token: s.token, expiresAt: s.expiresAt, user: presentUser(s.user, { self: true }) };
  }

  @Mutation(() => Boolean, {
    description: 'Ends the current session (false when called with an API token).',
  })
  logout(@Ctx() ctx: GraphQLContext) {
    return logout(ctx.domain);
  }

  @Mutation(() => UserType, { description: 'Creates a user (admins only).' })
  async createUser(
    @Arg('input', () => CreateUserInput) input: CreateUserInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return presentUser(await createUser(ctx.domain, input));
  }

  @Mutation(() => CreatedApiTokenType, {
    description:
      'Creates an API token for you, with at most the scopes you hold. The secret is shown once.',
  })
  async createApiToken(
    @Arg('name') name: string,
    @Arg('scopes', () => [TokenScope]) scopes: TokenScope[],
    @Ctx() ctx: GraphQLContext,
  ) {
    const r = await createApiToken(ctx.domain, name, scopes);
    return { token: r.token, apiToken: presentApiToken(r.apiToken) };
  }

  @Mutation(() => Boolean, { description: "Revokes one of your API tokens (admins: anyone's)." })
  revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return revokeApiToken(ctx.domain, localId(id, 'ApiToken'));
  }
}

@Resolver(() => UserType)
export class UserFieldsResolver {
  @FieldResolver(() => Boolean, { nullable: true })
  isAdmin(@Root() user: PresentedUser, @Ctx() ctx: GraphQLContext): boolean | null {
    return user.self || canSeeAdminFlag(ctx.viewer, user.localId) ? user.isAdmin : null;
  }
}
