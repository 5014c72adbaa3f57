/**
 * Apollo plugin that writes one audit entry per mutation request, after the response is
 * known, so failures are recorded too (bad input, FORBIDDEN, validation errors of a parsed
 * mutation). Arguments are taken from the root fields (inline literals and variables alike,
 * never the query text, which may carry secrets inline) and redacted before storage.
 *
 * Not recorded: requests that do not parse (nothing says they are mutations) and requests
 * refused while building the context (a bad credential is answered with 401 before any
 * operation runs).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { getArgumentValues, getOperationAST, GraphQLError, Kind, parse, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { EntityManager } from '@mikro-orm/core';
import type { GraphQLContext } from './context.type.js';
import { auditTargetOf, recordAudit } from '../domain/audit/audit.service.js';

export interface AuditPluginOptions {
  /** A fresh EntityManager per entry (never the request's: its unit of work is the request's). */
  em: () => EntityManager;
  /** Audit writes never fail the response; failures are logged here. */
  onError: (err: unknown) => void;
}

type RootArgs = { field: string; args: Record<string, unknown> };

function rootArgs(schema: GraphQLSchema, op: OperationDefinitionNode, variables: Record<string, unknown>): RootArgs[] {
  const fields = schema.getMutationType()?.getFields() ?? {};
  const out: RootArgs[] = [];
  for (const sel of op.selectionSet.selections) {
    if (sel.kind !== Kind.FIELD) continue;
    const def = fields[sel.name.value];
    let args: Record<string, unknown> = {};
    try {
      if (def) args = getArgumentValues(def, sel, variables);
    } catch {
      // Arguments that do not coerce (the request failed validation): keep what was sent.
      args = { variables };
    }
    out.push({ field: sel.name.value, args });
  }
  return out;
}

export function auditPlugin(opts: AuditPluginOptions): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          try {
            if (!rc.document) return;
            const op = rc.operation ?? getOperationAST(rc.document, rc.request.operationName);
            if (!op || op.operation !== 'mutation') return;
            const roots = rootArgs(rc.schema, op, rc.request.variables ?? {});
            const body = rc.response.body;
            const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
            const first = roots[0];
            const { target, app } = first ? auditTargetOf(first.field, first.args) : { target: null, app: null };
            const code = errors?.[0]?.extensions?.code;
            await recordAudit(opts.em(), {
              actor: rc.contextValue?.viewer?.username ?? null,
              operationName: op.name?.value ?? rc.request.operationName ?? null,
              rootField: roots.map((r) => r.field).join(',') || '(none)',
              target,
              app,
              outcome: errors?.length ? 'ERROR' : 'OK',
              errorCode: errors?.length ? (typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR') : null,
              args: Object.fromEntries(roots.map((r) => [r.field, r.args])),
            });
          } catch (err) {
            opts.onError(err);
          }
        },
      };
    },
  };
}

/**
 * For graphql-ws `onSubscribe`: refuses mutations over WebSocket. Mutations go over HTTP,
 * where {@link auditPlugin} records them; a second transport would be a way around the
 * audit log. Returns the errors to send, or undefined to go on.
 */
export function refuseWebSocketMutation(payload: { query: string; operationName?: string | null }): readonly GraphQLError[] | undefined {
  let op: OperationDefinitionNode | null | undefined;
  try {
    op = getOperationAST(parse(payload.query), payload.operationName ?? undefined);
  } catch {
    return undefined; // graphql-ws reports the syntax error itself
  }
  if (op?.operation !== 'mutation') return undefined;
  return [new GraphQLError('Send mutations over HTTP (POST /graphql); the WebSocket carries subscriptions and queries only.', { extensions: { code: 'BAD_REQUEST' } })];
}
