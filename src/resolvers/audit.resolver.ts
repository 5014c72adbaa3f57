import { Arg, Args, Ctx, Query, Resolver } from 'type-graphql';
import { AuditEntryConnection, AuditFilterInput } from './audit.type.js';
import { PageArgs, decodeCursor, encodeCursor, pageInfo, pageSize } from './connection.type.js';
import type { GraphQLContext } from './context.type.js';
import { listAuditLog } from '../domain/audit/audit.service.js';
import { toGlobalId } from './global-id.js';

const isAuditCursor = (v: unknown): v is { a: string } =>
  typeof v === 'object' &&
  v !== null &&
  'a' in v &&
  typeof v.a === 'string' &&
  /^\d{1,18}$/.test(v.a);

@Resolver()
export class AuditResolver {
  @Query(() => AuditEntryConnection, {
    description:
      'The audit log of mutations, newest first. Platform admins read all of it; app OWNERs the entries of their apps.',
  })
  async auditLog(
    @Args() page: PageArgs,
    @Arg('filter', () => AuditFilterInput, { nullable: true }) filter: AuditFilterInput | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after, isAuditCursor);
    const res = await listAuditLog(ctx.domain, filter ?? {}, first, after?.a);
    // A global id, as every other type's: a client store keyed by id alone (Relay) must not mix
    // an audit entry up with the platform event of the same number.
    const edges = res.items.map((e) => ({
      cursor: encodeCursor({ a: e.id }),
      node: { ...e, id: toGlobalId('AuditEntry', e.id) },
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
