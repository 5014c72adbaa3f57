/**
 * Compiled execution of HTTP operations (issue 9, P1): graphql-jit turns an operation into a
 * JavaScript function once, and Apollo Server runs it through its gateway interface
 * (`gateway.load()` answering an `executor`), with every plugin, the validation rules, the
 * limits and formatError as before. graphql-ws subscriptions keep graphql-js
 * (ws-shared-execution.ts).
 *
 * - Compiling costs far more than one execution, so a document is compiled at its
 *   `compileAfter`-th execution (PHANTOM_GRAPHQL_JIT_AFTER; 0 = never: Apollo's own execution): a stream of documents
 *   each sent once costs what it cost with graphql-js. Compiled functions live as long as the
 *   parsed document (Apollo's bounded document cache) through a WeakMap.
 * - Variables are coerced by graphql-js first, so their errors are graphql-js's own (Apollo's
 *   BAD_USER_INPUT and its status rules rely on their shape).
 * - Errors come back as graphql-js GraphQLErrors with path, locations and the resolver's
 *   error as `originalError` (graphql-jit's own lack the `extensions` object Apollo reads).
 */
import {
  execute,
  getVariableValues,
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type {
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
} from '@apollo/server-gateway-interface';

interface Compiled {
  /** Executions so far, until compiled. */
  runs: number;
  /** Per operation name ('' for the only one). */
  byOperation?: Map<string, CompiledQuery | ExecutionResult>;
}

interface JitError {
  message: string;
  locations?: readonly { line: number; column: number }[];
  path?: readonly (string | number)[];
  originalError?: unknown;
  extensions?: Record<string, unknown>;
}

function toGraphQLError(e: JitError): GraphQLError {
  // graphql-js's own errors are complete. graphql-jit's carry `originalError` and no
  // `extensions` object; a resolver's rejection arrives as the error itself with `locations`
  // and `path` written onto it.
  if (e instanceof GraphQLError && e.extensions) return e;
  const original = 'originalError' in e ? e.originalError : e;
  const err = new GraphQLError(e.message, {
    path: e.path,
    originalError: original instanceof Error ? original : undefined,
    extensions: 'originalError' in e ? e.extensions : undefined,
  });
  if (e.locations?.length)
    Object.defineProperty(err, 'locations', { value: e.locations, enumerable: true });
  return err;
}

function withGraphQLErrors(r: ExecutionResult): ExecutionResult {
  if (!r.errors?.length) return r;
  return { ...r, errors: r.errors.map((e) => toGraphQLError(e as JitError)) };
}

/** The executor: graphql-js until a document's `compileAfter`-th run (≥ 1), then its compiled form. */
export function compiledExecutor(
  schema: GraphQLSchema,
  compileAfter: number,
): GatewayExecutor & { compiledDocuments: number } {
  const documents = new WeakMap<DocumentNode, Compiled>();
  const executor = async (rc: GatewayGraphQLRequestContext) => {
    const document = rc.document;
    let entry = documents.get(document);
    if (!entry) documents.set(document, (entry = { runs: 0 }));
    const variables = rc.request.variables ?? {};
    if (!entry.byOperation && ++entry.runs < compileAfter)
      return execute({
        schema,
        document,
        contextValue: rc.context,
        variableValues: variables,
        operationName: rc.operationName,
      }) as never;
    if (!entry.byOperation) {
      entry.byOperation = new Map();
      run.compiledDocuments++;
    }
    const key = rc.operationName ?? '';
    let compiled = entry.byOperation.get(key);
    if (!compiled) {
      compiled = compileQuery(schema, document, rc.operationName ?? undefined);
      entry.byOperation.set(key, compiled);
    }
    if (!isCompiledQuery(compiled)) return withGraphQLErrors(compiled) as never;
    const defs = rc.operation?.variableDefinitions;
    if (defs?.length) {
      const coerced = getVariableValues(schema, defs, variables, { maxErrors: 50 });
      if (coerced.errors) return { errors: coerced.errors } as never;
    }
    return withGraphQLErrors(await compiled.query(undefined, rc.context, variables)) as never;
  };
  /** Documents compiled so far (tests). */
  const run = Object.assign(executor, { compiledDocuments: 0 });
  return run;
}

/** Apollo's gateway interface over one fixed schema and the executor above. */
export function compiledGateway(schema: GraphQLSchema, compileAfter: number): GatewayInterface {
  return {
    load: () => Promise.resolve({ schema, executor: compiledExecutor(schema, compileAfter) }),
    onSchemaLoadOrUpdate: (callback) => {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    stop: () => Promise.resolve(),
  };
}
