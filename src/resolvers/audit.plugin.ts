/**
 * Apollo plugin that writes one audit entry per root field of each mutation request, after
 * the response is known, so failures are recorded too (bad input, FORBIDDEN, validation
 * errors of a parsed mutation). Each entry has its own target and app: a request with
 * several root fields must not file one app's arguments under another app, whose OWNERs
 * would read them. Arguments are taken from the root fields (inline literals and variables
 * alike, never the query text, which may carry secrets inline) and redacted before storage.
 *
 * The root fields are those that run, as the executor reports them (`willResolveField` on
 * the Mutation type): a field reached through an inline fragment or a fragment spread is
 * recorded, a `@skip`ped one is not, and a response key repeated in the document is one
 * entry. A request refused before execution gets the fields its document selects, collected
 * the same way.
 *
 * The app of an entry is, in order: what the domain noted while the field ran
 * (`noteAuditTarget`, src/domain/audit/audit-target.ts), the `app` of the field's result,
 * or the rule in `auditTargetOf`. Its id is read before execution (so `deleteApp` keeps the
 * id of the app it deleted), else after.
 *
 * Not recorded: requests that do not parse (nothing says they are mutations), requests
 * refused while building the context (a bad credential is answered with 401 before any
 * operation runs), and failed calls without sign-in beyond a bound per client address
 * (`boundAnonymousFailure`: anyone can send them, so they must not grow the log without end).
 */
import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import {
  defaultFieldResolver,
  getArgumentValues,
  getDirectiveValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  Kind,
  OperationTypeNode,
  parse,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type InlineFragmentNode,
  type NamedTypeNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { EntityManager } from '@mikro-orm/core';
import type { GraphQLContext } from './context.type.js';
import {
  auditTargetOf,
  boundAnonymousFailure,
  currentAppId,
  recordAudit,
  type NewAuditEntry,
} from '../domain/audit/audit.service.js';
import { takeAuditTarget, type AuditTarget } from '../domain/audit/audit-target.js';
import type { DomainContext } from '../domain/shared/domain-context.js';

/** What a failure report says about the entry concerned (never its arguments). */
export type AuditEntrySummary = Pick<
  NewAuditEntry,
  'actor' | 'operationName' | 'rootField' | 'target' | 'outcome' | 'errorCode'
>;

export interface AuditPluginOptions {
  /** A fresh EntityManager per entry (never the request's: its unit of work is the request's). */
  em: () => EntityManager;
  /**
   * Audit writes never fail the response; failures are reported here, with the entry that
   * was not written (`entry` absent: the plugin failed before it knew the entries).
   */
  onError: (err: unknown, entry?: AuditEntrySummary) => void;
}

/** One root field: its name, its response key (alias or name) and its arguments. */
type RootArgs = { field: string; key: string; args: Record<string, unknown> };

/** The request's variables coerced as execution coerces them; the raw ones when they do not coerce. */
function coercedVariables(
  schema: GraphQLSchema,
  op: OperationDefinitionNode,
  raw: Record<string, unknown>,
): Record<string, unknown> {
  try {
    const r = getVariableValues(schema, op.variableDefinitions ?? [], raw);
    return r.coerced ?? raw;
  } catch {
    return raw;
  }
}

/** Does `@skip`/`@include` leave `node` in? Directives that do not evaluate count as "in" (record more, never less). */
function included(
  node: FieldNode | FragmentSpreadNode | InlineFragmentNode,
  variables: Record<string, unknown>,
): boolean {
  try {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if === false) return false;
  } catch {
    // fall through
  }
  return true;
}

/**
 * The root fields of a mutation as graphql-js collects them (its `collectFields`): through
 * inline fragments and fragment spreads whose type condition applies to the Mutation type,
 * honouring `@skip`/`@include`, one per response key (fields sharing a key are merged and
 * run once), in execution order.
 */
function rootArgs(
  schema: GraphQLSchema,
  document: DocumentNode,
  op: OperationDefinitionNode,
  rawVariables: Record<string, unknown>,
): RootArgs[] {
  const mutation = schema.getMutationType();
  const fields = mutation?.getFields() ?? {};
  const variables = coercedVariables(schema, op, rawVariables);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const applies = (typeCondition: NamedTypeNode | undefined): boolean => {
    if (!typeCondition || !mutation) return true;
    const t = schema.getType(typeCondition.name.value);
    if (!t) return false;
    if (t === mutation) return true;
    return isAbstractType(t) && schema.isSubType(t, mutation);
  };
  const out = new Map<string, RootArgs>();
  const visited = new Set<string>();
  const collect = (set: SelectionSetNode): void => {
    for (const sel of set.selections) {
      if (!included(sel, variables)) continue;
      if (sel.kind === Kind.FIELD) {
        const key = sel.alias?.value ?? sel.name.value;
        if (out.has(key)) continue;
        const def = fields[sel.name.value];
        let args: Record<string, unknown> = {};
        try {
          if (def) args = getArgumentValues(def, sel, variables);
        } catch {
          // Arguments that do not coerce (the request failed validation): keep what was sent.
          args = { variables: rawVariables };
        }
        out.set(key, { field: sel.name.value, key, args });
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (applies(sel.typeCondition)) collect(sel.selectionSet);
      } else {
        const name = sel.name.value;
        if (visited.has(name)) continue;
        visited.add(name);
        const frag = fragments.get(name);
        if (frag && applies(frag.typeCondition)) collect(frag.selectionSet);
      }
    }
  };
  collect(op.selectionSet);
  return [...out.values()];
}

/** A root field that ran: its name, key and arguments as execution saw them, the domain's note and its result. */
type Ran = RootArgs & { note?: AuditTarget; result?: unknown };

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** The `app` (a name) of a root field's result, when it has one (routes, deliveries, releases). */
function resultApp(result: unknown): string | null | undefined {
  if (typeof result !== 'object' || result === null || !('app' in result)) return undefined;
  const app = result.app;
  return app === null ? null : (str(app) ?? undefined);
}

/** Called as a Mutation root field starts; its answer is called when the field's result is known. */
type RootHook = (
  info: GraphQLResolveInfo,
  args: Record<string, unknown>,
) => ((err: unknown, result: unknown) => void) | undefined;

/** Where a mutation request's context holds its {@link RootHook}. */
const AUDIT_ROOT_HOOK = Symbol('phantom.auditRootHook');
const ROOTS_WRAPPED = Symbol('phantom.auditRootsWrapped');

/**
 * Wraps the resolvers of the Mutation type's fields (only those) so that they report to the
 * audit plugin of their request. The plugin used Apollo's `willResolveField` before, and a
 * plugin with that hook makes Apollo wrap **every** field of the schema, for good, from the
 * first mutation on: every field of every later query paid a wrapper call (and compiled
 * execution could no longer read plain properties inline). Call once on the schema Apollo
 * and the compiled executor run.
 */
export function auditMutationRoots(schema: GraphQLSchema): void {
  const mutation = schema.getMutationType();
  if (!mutation || ROOTS_WRAPPED in mutation) return;
  Object.defineProperty(mutation, ROOTS_WRAPPED, { value: true });
  for (const field of Object.values(mutation.getFields())) {
    const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args: Record<string, unknown>, context, info) => {
      const hook = (context as { [AUDIT_ROOT_HOOK]?: RootHook } | null)?.[AUDIT_ROOT_HOOK];
      const done = hook?.(info, args);
      if (!done) return resolve(source, args, context, info);
      let result: unknown;
      try {
        result = resolve(source, args, context, info);
      } catch (err) {
        done(err, undefined);
        throw err;
      }
      if (typeof (result as PromiseLike<unknown> | null)?.then === 'function')
        (result as PromiseLike<unknown>).then(
          (v) => done(null, v),
          (err: unknown) => done(err, undefined),
        );
      else done(null, result);
      return result;
    };
  }
}

export function auditPlugin(opts: AuditPluginOptions): ApolloServerPlugin<GraphQLContext> {
  /**
   * Writes one entry; never throws. An entry the database refuses is reported (loudly: the
   * change may have happened) and written again without its arguments, so the log still says
   * who did what; only if that fails too is the entry missing, and reported a second time.
   */
  const writeEntry = async (entry: NewAuditEntry): Promise<void> => {
    const summary: AuditEntrySummary = {
      actor: entry.actor,
      operationName: entry.operationName,
      rootField: entry.rootField,
      target: entry.target,
      outcome: entry.outcome,
      errorCode: entry.errorCode,
    };
    try {
      await recordAudit(opts.em(), entry);
    } catch (err) {
      opts.onError(err, summary);
      try {
        await recordAudit(opts.em(), {
          ...entry,
          args: { [entry.rootField]: '[arguments not storable: see the server log]' },
        });
      } catch (again) {
        opts.onError(again, summary);
      }
    }
  };
  return {
    requestDidStart() {
      /** App name → its id before any root field ran. */
      const idsBefore = new Map<string, number | null>();
      const ran = new Map<string, Ran>();
      const auditCtx = (rc: GraphQLRequestContext<GraphQLContext>): DomainContext | null =>
        rc.contextValue?.domain ? { ...rc.contextValue.domain, em: opts.em() } : null;
      return Promise.resolve({
        async executionDidStart(rc) {
          const op = rc.operation;
          const domain = rc.contextValue?.domain;
          if (!op || op.operation !== OperationTypeNode.MUTATION || !domain) return;
          const mutationType = rc.schema.getMutationType();
          try {
            const ctx = auditCtx(rc);
            for (const r of rootArgs(rc.schema, rc.document, op, rc.request.variables ?? {})) {
              const { app } = auditTargetOf(r.field, r.args);
              if (app && ctx && !idsBefore.has(app))
                idsBefore.set(app, await currentAppId(ctx, app));
            }
          } catch (err) {
            opts.onError(err);
          }
          // The root fields that actually run, whatever the document's shape (fragments,
          // @skip/@include, a response key repeated): the executor resolves each once, and
          // the Mutation type's resolvers call this request's hook (auditMutationRoots).
          const hook: RootHook = (info, args) => {
            if (info.path.prev !== undefined || info.parentType !== mutationType) return undefined;
            const key = String(info.path.key);
            const entry: Ran = {
              field: info.fieldName,
              key,
              args: { ...args },
            };
            ran.set(key, entry);
            // Root mutation fields run one after another, so the slot holds this field's note.
            takeAuditTarget(domain);
            return (_err, result) => {
              entry.note = takeAuditTarget(domain);
              entry.result = result;
            };
          };
          Object.defineProperty(rc.contextValue, AUDIT_ROOT_HOOK, {
            value: hook,
            configurable: true,
          });
        },
        async willSendResponse(rc) {
          try {
            if (!rc.document) return;
            const op = rc.operation ?? getOperationAST(rc.document, rc.request.operationName);
            if (!op || op.operation !== OperationTypeNode.MUTATION) return;
            const body = rc.response.body;
            const errors = body.kind === 'single' ? (body.singleResult.errors ?? []) : [];
            const collected = rootArgs(rc.schema, rc.document, op, rc.request.variables ?? {});
            // Once fields ran, the entries are those fields (plus any the executor failed before
            // its resolver, e.g. arguments that did not coerce: their errors carry the key);
            // a request refused before execution (validation, variables) has the fields its
            // document selects.
            let roots: RootArgs[] = collected;
            if (ran.size) {
              const failed = new Set(
                errors
                  .map((e) => e.path?.[0])
                  .filter((k) => k !== undefined)
                  .map(String),
              );
              roots = collected
                .filter((r) => ran.has(r.key) || failed.has(r.key))
                .map((r) => ran.get(r.key) ?? r);
              for (const r of ran.values()) if (!roots.some((x) => x.key === r.key)) roots.push(r);
            }
            // Errors without a path (validation, …) concern the whole request, so every field.
            const requestErrors = errors.filter((e) => !e.path?.length);
            const ctx = auditCtx(rc);
            const domain = rc.contextValue?.domain;
            // Callers who are not signed in cannot grow the log without bound (boundAnonymousFailure).
            const write = async (entry: NewAuditEntry): Promise<void> => {
              const admitted = domain
                ? await boundAnonymousFailure(domain.deps.kv, domain.clientAddress, entry)
                : entry;
              if (admitted) await writeEntry(admitted);
            };
            const common = {
              actor: rc.contextValue?.viewer?.username ?? null,
              operationName: op.name?.value ?? rc.request.operationName ?? null,
            };
            if (!roots.length) {
              const code = errors[0]?.extensions?.code;
              await write({
                ...common,
                rootField: '(none)',
                target: null,
                app: null,
                appId: null,
                args: {},
                outcome: errors.length ? 'ERROR' : 'OK',
                errorCode: errors.length
                  ? typeof code === 'string'
                    ? code
                    : 'INTERNAL_SERVER_ERROR'
                  : null,
              });
              return;
            }
            for (const r of roots) {
              const fieldErrors = [
                ...errors.filter((e) => e.path?.[0] === r.key),
                ...requestErrors,
              ];
              const guess = auditTargetOf(r.field, r.args);
              const { note, result } = ran.get(r.key) ?? ({} as Partial<Ran>);
              const fromResult = resultApp(result);
              const app =
                note?.app !== undefined
                  ? note.app
                  : fromResult !== undefined
                    ? fromResult
                    : guess.app;
              const target = note?.target ?? guess.target ?? app ?? null;
              const before = app ? idsBefore.get(app) : null;
              const appId = before ?? (app && ctx ? await currentAppId(ctx, app) : null);
              const code = fieldErrors[0]?.extensions?.code;
              await write({
                ...common,
                rootField: r.field,
                target,
                app: app ?? null,
                appId,
                outcome: fieldErrors.length ? 'ERROR' : 'OK',
                errorCode: fieldErrors.length
                  ? typeof code === 'string'
                    ? code
                    : 'INTERNAL_SERVER_ERROR'
                  : null,
                args: { [r.field]: r.args },
              });
            }
          } catch (err) {
            opts.onError(err);
          }
        },
      });
    },
  };
}

/**
 * For graphql-ws `onSubscribe`: refuses mutations over WebSocket. Mutations go over HTTP,
 * where {@link auditPlugin} records them; a second transport would be a way around the
 * audit log. Returns the errors to send, or undefined to go on.
 */
export function refuseWebSocketMutation(payload: {
  query: string;
  operationName?: string | null;
}): readonly GraphQLError[] | undefined {
  let op: OperationDefinitionNode | null | undefined;
  try {
    op = getOperationAST(parse(payload.query), payload.operationName ?? undefined);
  } catch {
    return undefined; // graphql-ws reports the syntax error itself
  }
  if (op?.operation !== OperationTypeNode.MUTATION) return undefined;
  return [
    new GraphQLError(
      'Send mutations over HTTP (POST /graphql); the WebSocket carries subscriptions and queries only.',
      { extensions: { code: 'BAD_REQUEST' } },
    ),
  ];
}
