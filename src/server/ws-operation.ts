/**
 * graphql-ws `onSubscribe`: every check an HTTP request gets through Apollo, in the same order
 * and answered with the same `extensions.code`, done here so that graphql-ws never parses or
 * validates on its own. Left to graphql-ws, a syntax error threw out of its message handler
 * and closed the whole socket with 4500 (ending every other subscription on it), and
 * validation or variable errors carried no code, so formatError logged each one as a bug and
 * answered INTERNAL_SERVER_ERROR.
 */
import {
  GraphQLError,
  Kind,
  getOperationAST,
  getVariableValues,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import {
  costWithVariables,
  parseWithinLimits,
  selectionLimitError,
  type QueryLimits,
} from './limits.js';
import { refuseWebSocketMutation } from '../resolvers/audit.plugin.js';
import { malformedTextError } from './input-text.js';

/** What a graphql-ws client sends in a `subscribe` message. */
export interface WsSubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** Validation errors get Apollo's code; a limit rule's own code (`limitCode`) is kept for formatError. */
function validationFailed(e: GraphQLError): GraphQLError {
  if (typeof e.extensions.limitCode === 'string') return e;
  return new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
  });
}

/** graphql-js's own wording for an operation it cannot pick (Apollo answers OPERATION_RESOLUTION_FAILURE). */
function operationNotFound(doc: DocumentNode, name: string | null | undefined): GraphQLError {
  const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const message = name
    ? `Unknown operation named "${name}".`
    : ops.length > 1
      ? 'Must provide operation name if query contains multiple operations.'
      : 'Must provide an operation.';
  return new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } });
}

/**
 * Parses (within the token limit), bounds selections, validates with `rules`, refuses
 * mutations, checks the cost with the variables and coerces the variables. Returns the
 * execution arguments, or the errors to send as this id's `error` message (the socket and its
 * other subscriptions stay up).
 */
export function prepareWsOperation(
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
  payload: WsSubscribePayload,
  limits: QueryLimits,
): ExecutionArgs | readonly GraphQLError[] {
  const parsed = parseWithinLimits(payload.query, limits);
  if (parsed instanceof GraphQLError) return [parsed];
  const document = parsed;
  // Text that cannot be stored as it came (lone surrogates) is refused before anything runs (input-text.ts).
  const malformed = malformedTextError(document, payload.variables);
  if (malformed)
    return [
      new GraphQLError(malformed.message, {
        extensions: { code: malformed.extensions.code, field: malformed.extensions.field },
      }),
    ];
  const tooMany = selectionLimitError(document, limits);
  if (tooMany) return [tooMany];
  const invalid = validate(schema, document, rules);
  if (invalid.length) return invalid.map(validationFailed);
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) return [operationNotFound(document, payload.operationName)];
  const refused = refuseWebSocketMutation(payload);
  if (refused) return refused;
  const tooCostly = costWithVariables(schema, document, payload.variables, limits);
  if (tooCostly) return [tooCostly];
  const coerced = getVariableValues(
    schema,
    operation.variableDefinitions ?? [],
    payload.variables ?? {},
    { maxErrors: 50 },
  );
  if (coerced.errors) {
    return coerced.errors.map(
      (e) =>
        new GraphQLError(e.message, {
          nodes: e.nodes,
          extensions: { ...e.extensions, code: 'BAD_USER_INPUT' },
        }),
    );
  }
  return {
    schema,
    document,
    operationName: payload.operationName,
    variableValues: payload.variables,
  };
}
