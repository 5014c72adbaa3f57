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

/** Documents kept compiled at once (least recently used first out): ~100 KB each. */
export const COMPILED_DOCUMENTS_MAX = 200;

/**
 * The executor: graphql-js until a document's `compileAfter`-th run (≥ 1), then its compiled
 * form. Only signed-in callers' documents are compiled (a stream of anonymous documents costs
 * what it did), and at most `maxCompiled` documents stay compiled: a compiled document holds
 * far more memory than Apollo's cache counts for it, and many distinct documents would
 * otherwise grow the heap without bound. An evicted document starts counting again.
 */
export function compiledExecutor(
  schema: GraphQLSchema,
  compileAfter: number,
  maxCompiled = COMPILED_DOCUMENTS_MAX,
): GatewayExecutor & { compiledDocuments: number; keptCompiled: () => number } {
  const documents = new WeakMap<DocumentNode, Compiled>();
  /** The compiled ones, least recently used first. */
  const kept = new Map<DocumentNode, Compiled>();
  const executor = async (rc: GatewayGraphQLRequestContext) => {
    const document = rc.document;
    // The name the client asked for, not Apollo's resolved one (null when it named nothing
    // in the document): execution must refuse it as graphql-js does.
    const operationName = rc.request.operationName ?? null;
    const variables = rc.request.variables ?? {};
    let entry = documents.get(document);
    if (!entry) documents.set(document, (entry = { runs: 0 }));
    const signedIn = (rc.context as { viewer?: unknown } | undefined)?.viewer != null;
    // No operation resolved (a name the document lacks, several unnamed): graphql-js's answer.
    if (!rc.operation || (!entry.byOperation && (!signedIn || ++entry.runs < compileAfter)))
      return execute({
        schema,
        document,
        contextValue: rc.context,
        variableValues: variables,
        operationName,
      }) as never;
    if (entry.byOperation) kept.delete(document);
    else {
      entry.byOperation = new Map();
      run.compiledDocuments++;
    }
    kept.set(document, entry);
    for (const [oldest, old] of kept) {
      if (kept.size <= maxCompiled) break;
      kept.delete(oldest);
      old.byOperation = undefined;
      old.runs = 0;
    }
    const key = operationName ?? '';
    let compiled = entry.byOperation.get(key);
    if (!compiled) {
      compiled = compileQuery(schema, document, operationName ?? undefined);
      entry.byOperation.set(key, compiled);
    }
    if (!isCompiledQuery(compiled)) return withGraphQLErrors(compiled) as never;
    // graphql-js coerces the variables: its errors are what Apollo turns into BAD_USER_INPUT
    // (graphql-jit's messages differ), and its values carry the input fields' defaults, which
    // graphql-jit's own coercion of a variable leaves out. The compiled query coerces these
    // values again (enum values are their names, scalars take their parsed values back).
    let coerced: Record<string, unknown> = {};
    const defs = rc.operation?.variableDefinitions;
    if (defs?.length) {
      const r = getVariableValues(schema, defs, variables, { maxErrors: 50 });
      if (r.errors) return { errors: r.errors } as never;
      coerced = r.coerced;
    }
    return withGraphQLErrors(await compiled.query(undefined, rc.context, coerced)) as never;
  };
  const run = Object.assign(executor, {
    /** Documents compiled so far (tests). */
    compiledDocuments: 0,
    /** Documents compiled now (tests). */
    keptCompiled: () => kept.size,
  });
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
