/**
 * Apollo plugin that writes one audit entry per root field of each mutation request, after
 * the response is known, so failures are recorded too (bad input, FORBIDDEN, validation
 * errors of a parsed mutation). Each entry has its own target and app: a request with
 * several root fields must not file one app's arguments under another app, whose OWNERs
 * would read them. Arguments are taken from the root fields (inline literals and variables
 * alike, never the query text, which may carry secrets inline) and redacted before storage.
 *
 * The app of an entry is, in order: what the domain noted while the field ran
 * (`noteAuditTarget`, src/domain/audit/audit-target.ts), the `app` of the field's result,
 * or the rule in `auditTargetOf`. Its id is read before execution (so `deleteApp` keeps the
 * id of the app it deleted), else after.
 *
 * Not recorded: requests that do not parse (nothing says they are mutations) and requests
 * refused while building the context (a bad credential is answered with 401 before any
 * operation runs).
 */
import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { getArgumentValues, getOperationAST, GraphQLError, Kind, parse, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { EntityManager } from '@mikro-orm/core';
import type { GraphQLContext } from './context.type.js';
import { auditTargetOf, currentAppId, recordAudit } from '../domain/audit/audit.service.js';
import { takeAuditTarget, type AuditTarget } from '../domain/audit/audit-target.js';
import type { DomainContext } from '../domain/shared/domain-context.js';

export interface AuditPluginOptions {
  /** A fresh EntityManager per entry (never the request's: its unit of work is the request's). */
  em: () => EntityManager;
  /** Audit writes never fail the response; failures are logged here. */
  onError: (err: unknown) => void;
}

/** One root field: its name, its response key (alias or name) and its arguments. */
type RootArgs = { field: string; key: string; args: Record<string, unknown> };

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
    out.push({ field: sel.name.value, key: sel.alias?.value ?? sel.name.value, args });
  }
  return out;
}

/** What a root field told us while it ran: the domain's note and the field's result. */
type Ran = { note?: AuditTarget; result?: unknown };

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** The `app` (a name) of a root field's result, when it has one (routes, deliveries, releases). */
function resultApp(result: unknown): string | null | undefined {
  if (typeof result !== 'object' || result === null || !('app' in result)) return undefined;
  const app = (result as { app: unknown }).app;
  return app === null ? null : (str(app) ?? undefined);
}

export function auditPlugin(opts: AuditPluginOptions): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      /** App name → its id before any root field ran. */
      const idsBefore = new Map<string, number | null>();
      const ran = new Map<string, Ran>();
      const auditCtx = (rc: GraphQLRequestContext<GraphQLContext>): DomainContext | null =>
        rc.contextValue?.domain ? { ...rc.contextValue.domain, em: opts.em() } : null;
      return {
        async executionDidStart(rc) {
          const op = rc.operation;
          const domain = rc.contextValue?.domain;
          if (!op || op.operation !== 'mutation' || !domain) return;
          try {
            const ctx = auditCtx(rc);
            for (const r of rootArgs(rc.schema, op, rc.request.variables ?? {})) {
              const { app } = auditTargetOf(r.field, r.args);
              if (app && ctx && !idsBefore.has(app)) idsBefore.set(app, await currentAppId(ctx, app));
            }
          } catch (err) {
            opts.onError(err);
          }
          return {
            willResolveField({ info }) {
              if (info.path.prev !== undefined) return;
              const key = String(info.path.key);
              // Root mutation fields run one after another, so the slot holds this field's note.
              takeAuditTarget(domain);
              return (_err, result) => {
                ran.set(key, { note: takeAuditTarget(domain), result });
              };
            },
          };
        },
        async willSendResponse(rc) {
          try {
            if (!rc.document) return;
            const op = rc.operation ?? getOperationAST(rc.document, rc.request.operationName);
            if (!op || op.operation !== 'mutation') return;
            const roots = rootArgs(rc.schema, op, rc.request.variables ?? {});
            const body = rc.response.body;
            const errors = body.kind === 'single' ? (body.singleResult.errors ?? []) : [];
            // Errors without a path (validation, …) concern the whole request, so every field.
            const requestErrors = errors.filter((e) => !e.path?.length);
            const ctx = auditCtx(rc);
            const common = {
              actor: rc.contextValue?.viewer?.username ?? null,
              operationName: op.name?.value ?? rc.request.operationName ?? null,
            };
            if (!roots.length) {
              const code = errors[0]?.extensions?.code;
              await recordAudit(opts.em(), {
                ...common, rootField: '(none)', target: null, app: null, appId: null, args: {},
                outcome: errors.length ? 'ERROR' : 'OK',
                errorCode: errors.length ? (typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR') : null,
              });
              return;
            }
            for (const r of roots) {
              const fieldErrors = [...errors.filter((e) => e.path?.[0] === r.key), ...requestErrors];
              const guess = auditTargetOf(r.field, r.args);
              const { note, result } = ran.get(r.key) ?? {};
              const fromResult = resultApp(result);
              const app = note?.app !== undefined ? note.app : fromResult !== undefined ? fromResult : guess.app;
              const target = note?.target ?? guess.target ?? app ?? null;
              const before = app ? idsBefore.get(app) : null;
              const appId = before ?? (app && ctx ? await currentAppId(ctx, app) : null);
              const code = fieldErrors[0]?.extensions?.code;
              await recordAudit(opts.em(), {
                ...common,
                rootField: r.field,
                target,
                app: app ?? null,
                appId,
                outcome: fieldErrors.length ? 'ERROR' : 'OK',
                errorCode: fieldErrors.length ? (typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR') : null,
                args: { [r.field]: r.args },
              });
            }
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
