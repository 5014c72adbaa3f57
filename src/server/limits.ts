/**
 * Query limits, each refused before execution with its own `extensions.code`:
 * depth (QUERY_TOO_DEEP), cost (QUERY_TOO_COMPLEX), aliases (TOO_MANY_ALIASES),
 * directives (TOO_MANY_DIRECTIVES). Body size is limited by the HTTP layer (PAYLOAD_TOO_LARGE).
 * The rules come from graphql-armor; we only attach stable codes to their findings.
 */
import { GraphQLError, Kind, parse, validate, visit, type DocumentNode, type GraphQLSchema, type ValidationContext, type ValidationRule } from 'graphql';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';

export interface QueryLimits {
  /** Deepest selection allowed (default 10). */
  maxDepth: number;
  /** graphql-armor cost (objects 2, scalars 1, ×1.5 per level, × a literal `first`; default 20000: a full page of 100 apps with every field fits). */
  maxCost: number;
  /** Aliases per operation (default 15). */
  maxAliases: number;
  /** Directives per operation (default 50). */
  maxDirectives: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 10, maxCost: 20000, maxAliases: 15, maxDirectives: 50 };

function reject(code: string) {
  return (ctx: ValidationContext | null, err: GraphQLError) => {
    // Apollo re-labels validation errors GRAPHQL_VALIDATION_FAILED; formatError restores `limitCode`.
    ctx?.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, ''), { extensions: { code, limitCode: code } }));
  };
}

export function limitRules(limits: QueryLimits = DEFAULT_LIMITS): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.maxDepth, propagateOnRejection: false, onReject: [reject('QUERY_TOO_DEEP')] }),
    costLimitRule({ maxCost: limits.maxCost, propagateOnRejection: false, onReject: [reject('QUERY_TOO_COMPLEX')] }),
    maxAliasesRule({ n: limits.maxAliases, propagateOnRejection: false, onReject: [reject('TOO_MANY_ALIASES')] }),
    maxDirectivesRule({ n: limits.maxDirectives, propagateOnRejection: false, onReject: [reject('TOO_MANY_DIRECTIVES')] }),
  ] as ValidationRule[];
}

/** Page-size arguments the cost rule multiplies by (graphql-armor reads only literals). */
const PAGE_ARGS = new Set(['first', 'last']);
/** What a null or absent page variable counts as: the default page (connection.type.ts DEFAULT_PAGE). */
const DEFAULT_PAGE_SIZE = 20;

/** Does any `first`/`last` argument take a variable? (Only then is a second cost pass needed.) */
function hasVariablePageArg(doc: DocumentNode): boolean {
  let found = false;
  visit(doc, {
    Argument(node) {
      if (PAGE_ARGS.has(node.name.value) && node.value.kind === Kind.VARIABLE) found = true;
    },
  });
  return found;
}

/**
 * `first: $n` costs what the variable's value says (the default page when it is null): the cost rule only
 * multiplies literal page sizes, so the variables are written into a copy of the document.
 */
export function inlinePageVariables(doc: DocumentNode, variables: Record<string, unknown> | null | undefined): DocumentNode {
  // A variable left out takes its declared default (`$n: Int = 100`), as execution will.
  const defaults: Record<string, unknown> = {};
  visit(doc, {
    VariableDefinition(def) {
      if (def.defaultValue?.kind === Kind.INT) defaults[def.variable.name.value] = Number(def.defaultValue.value);
    },
  });
  return visit(doc, {
    Argument(node) {
      if (!PAGE_ARGS.has(node.name.value) || node.value.kind !== Kind.VARIABLE) return undefined;
      const name = node.value.name.value;
      const v = variables && name in variables ? variables[name] : defaults[name];
      const n = typeof v === 'number' && Number.isInteger(v) && v > 0 ? Math.min(v, 10_000) : DEFAULT_PAGE_SIZE;
      return { ...node, value: { kind: Kind.INT, value: String(n) } };
    },
  });
}

/**
 * The cost check with the request's variables, run once the operation is known (Apollo's
 * didResolveOperation; graphql-ws onSubscribe). Returns the refusal, or null.
 */
export function costWithVariables(schema: GraphQLSchema, doc: DocumentNode, variables: Record<string, unknown> | null | undefined, limits: QueryLimits = DEFAULT_LIMITS): GraphQLError | null {
  if (!hasVariablePageArg(doc)) return null; // literal pages were already costed during validation
  const errors = validate(schema, inlinePageVariables(doc, variables), [
    costLimitRule({ maxCost: limits.maxCost, propagateOnRejection: false, onReject: [reject('QUERY_TOO_COMPLEX')] }) as ValidationRule,
  ]);
  const e = errors[0];
  return e ? new GraphQLError(e.message, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } }) : null;
}

/** {@link costWithVariables} for a raw query string (graphql-ws); syntax errors are left to the caller. */
export function costOfQuery(schema: GraphQLSchema, query: string, variables: Record<string, unknown> | null | undefined, limits?: QueryLimits): GraphQLError | null {
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch {
    return null;
  }
  return costWithVariables(schema, doc, variables, limits);
}
