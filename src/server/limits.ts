/**
 * Query limits, each refused before execution with its own `extensions.code`:
 * depth (QUERY_TOO_DEEP), cost (QUERY_TOO_COMPLEX), aliases (TOO_MANY_ALIASES),
 * directives (TOO_MANY_DIRECTIVES). Body size is limited by the HTTP layer (PAYLOAD_TOO_LARGE).
 * The rules come from graphql-armor; we only attach stable codes to their findings.
 *
 * Two bounds run *before* validation, because validation itself is the expensive part for a
 * hostile document (OverlappingFieldsCanBeMerged compares every pair of same-named fields):
 * tokens while parsing, then selections per operation (both QUERY_TOO_COMPLEX).
 */
import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  parse,
  validate,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
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
  /**
   * Tokens per document, enforced by the parser, which stops at the first token over (default
   * 1000; GraphiQL's full introspection query has about 190). Bounds parsing and everything after it.
   */
  maxTokens?: number;
  /**
   * Field, fragment-spread and inline-fragment selections per operation, fragments counted each
   * time they are spread (default 300; the full introspection query has 240). Checked before
   * validation, whose cost grows with the square of repeated fields.
   */
  maxSelections?: number;
  /**
   * Depth allowed inside introspection (`__schema`), which {@link QueryLimits.maxDepth} leaves
   * out so GraphiQL works; fragments are flattened here (default 20; GraphiQL's query needs 15).
   */
  maxIntrospectionDepth?: number;
}

export const DEFAULT_LIMITS: Required<QueryLimits> = {
  maxDepth: 10,
  maxCost: 20000,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 1000,
  maxSelections: 300,
  maxIntrospectionDepth: 20,
};

/** The limits with every optional bound filled from {@link DEFAULT_LIMITS}. */
export function resolveLimits(limits: QueryLimits = DEFAULT_LIMITS): Required<QueryLimits> {
  return {
    ...DEFAULT_LIMITS,
    ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
  };
}

function reject(code: string) {
  return (ctx: ValidationContext | null, err: GraphQLError) => {
    // Apollo re-labels validation errors GRAPHQL_VALIDATION_FAILED; formatError restores `limitCode`.
    ctx?.reportError(
      new GraphQLError(err.message.replace(/^Syntax Error: /, ''), {
        extensions: { code, limitCode: code },
      }),
    );
  };
}

export function limitRules(input: QueryLimits = DEFAULT_LIMITS): ValidationRule[] {
  const limits = resolveLimits(input);
  return [
    maxDepthRule({
      n: limits.maxDepth,
      propagateOnRejection: false,
      onReject: [reject('QUERY_TOO_DEEP')],
    }),
    // graphql-armor's depth rule skips `__schema` entirely (so `ofType` nested 48 deep ran): a
    // second pass counts introspection too, fragments flattened, with room for GraphiQL's query.
    maxDepthRule({
      n: Math.max(limits.maxDepth, limits.maxIntrospectionDepth),
      ignoreIntrospection: false,
      flattenFragments: true,
      propagateOnRejection: false,
      onReject: [reject('QUERY_TOO_DEEP')],
    }),
    costLimitRule({
      maxCost: limits.maxCost,
      propagateOnRejection: false,
      onReject: [reject('QUERY_TOO_COMPLEX')],
    }),
    // The default allow-list lets `__typename` aliases through uncounted (13,000 were accepted).
    maxAliasesRule({
      n: limits.maxAliases,
      allowList: [],
      propagateOnRejection: false,
      onReject: [reject('TOO_MANY_ALIASES')],
    }),
    maxDirectivesRule({
      n: limits.maxDirectives,
      propagateOnRejection: false,
      onReject: [reject('TOO_MANY_DIRECTIVES')],
    }),
  ] as ValidationRule[];
}

/** Page-size arguments the cost rule multiplies by (graphql-armor reads only literals). */
const PAGE_ARGS = new Set(['first', 'last']);
/** What a null or absent page variable counts as: the default page (connection.type.ts DEFAULT_PAGE). */
const DEFAULT_PAGE_SIZE = 20;

/** The page size a `first`/`last` variable's value counts as (the default page when unusable). */
// Null or left out: the default page. A value that is not a page size (not an Int, say 1e20 or
// "x", or not positive) costs one: the variable's coercion or the page-size check then refuses
// it with BAD_USER_INPUT, the error that names the mistake, instead of a cost refusal.
const pageSizeOf = (v: unknown): number => {
  if (v == null) return DEFAULT_PAGE_SIZE;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 2_147_483_647
    ? Math.min(v, 10_000)
    : 1;
};

/**
 * `first: $n` costs what the variable's value says (the default page when it is null): the cost rule only
 * multiplies literal page sizes, so the variables are written into a copy of the document.
 */
export function inlinePageVariables(
  doc: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): DocumentNode {
  // A variable left out takes its declared default (`$n: Int = 100`), as execution will.
  const defaults: Record<string, unknown> = {};
  visit(doc, {
    VariableDefinition(def) {
      if (def.defaultValue?.kind === Kind.INT)
        defaults[def.variable.name.value] = Number(def.defaultValue.value);
    },
  });
  return visit(doc, {
    Argument(node) {
      if (!PAGE_ARGS.has(node.name.value) || node.value.kind !== Kind.VARIABLE) return undefined;
      const name = node.value.name.value;
      const v = variables && name in variables ? variables[name] : defaults[name];
      return { ...node, value: { kind: Kind.INT, value: String(pageSizeOf(v)) } };
    },
  });
}

/** What the cost check learned about one document: its page variables and verdicts per page sizes. */
interface CostMemo {
  schema: GraphQLSchema;
  limits: QueryLimits;
  /** The variables given as `first`/`last` (empty: literal pages only, costed during validation). */
  pageVariables: string[];
  /** Declared integer defaults of variables. */
  defaults: Record<string, unknown>;
  /** Refusal message (or null) by the page sizes the variables come to, joined. */
  verdicts: Map<string, string | null>;
}
/** Per parsed document (Apollo and the WebSocket path reuse a document for the same text). */
const costMemos = new WeakMap<DocumentNode, CostMemo>();
/** Distinct page-size combinations remembered per document. */
const MAX_VERDICTS = 64;

function costMemo(schema: GraphQLSchema, doc: DocumentNode, limits: QueryLimits): CostMemo {
  const known = costMemos.get(doc);
  if (known && known.schema === schema && known.limits === limits) return known;
  const pageVariables = new Set<string>();
  const defaults: Record<string, unknown> = {};
  visit(doc, {
    VariableDefinition(def) {
      if (def.defaultValue?.kind === Kind.INT)
        defaults[def.variable.name.value] = Number(def.defaultValue.value);
    },
    Argument(node) {
      if (PAGE_ARGS.has(node.name.value) && node.value.kind === Kind.VARIABLE)
        pageVariables.add(node.value.name.value);
    },
  });
  const memo = { schema, limits, pageVariables: [...pageVariables], defaults, verdicts: new Map() };
  costMemos.set(doc, memo);
  return memo;
}

/**
 * The cost check with the request's variables, run once the operation is known (Apollo's
 * didResolveOperation; graphql-ws onSubscribe). Returns the refusal, or null. The verdict
 * depends only on the document and the page sizes its variables come to: it is remembered
 * per document (a validation pass per request was a few percent of a small query's time).
 */
export function costWithVariables(
  schema: GraphQLSchema,
  doc: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  limits: QueryLimits = DEFAULT_LIMITS,
): GraphQLError | null {
  const memo = costMemo(schema, doc, limits);
  if (!memo.pageVariables.length) return null; // literal pages were already costed during validation
  const key = memo.pageVariables
    .map((name) =>
      pageSizeOf(variables && name in variables ? variables[name] : memo.defaults[name]),
    )
    .join(',');
  let verdict = memo.verdicts.get(key);
  if (verdict === undefined) {
    const errors = validate(schema, inlinePageVariables(doc, variables), [
      costLimitRule({
        maxCost: limits.maxCost,
        propagateOnRejection: false,
        onReject: [reject('QUERY_TOO_COMPLEX')],
      }),
    ]);
    verdict = errors[0]?.message ?? null;
    if (memo.verdicts.size >= MAX_VERDICTS) memo.verdicts.clear();
    memo.verdicts.set(key, verdict);
  }
  return verdict === null
    ? null
    : new GraphQLError(verdict, {
        extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
      });
}

/** The refusal for a document over a pre-validation bound (HTTP 400, QUERY_TOO_COMPLEX). */
function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
  });
}

/** graphql-js's message when `maxTokens` stops the parser ("more that" in 16.x, "more than" in later lines). */
const TOKEN_LIMIT_MESSAGE = /Document contains more tha[nt] (\d+) tokens/;

/**
 * `query`, or, when it has more than `maxTokens` tokens, its text up to the end of the first
 * token past the limit: parsing that prefix ends exactly as parsing the whole would (the
 * parser stops at that token, or at a syntax error before it, which the prefix holds too),
 * but the error's line and column are then found in the prefix. graphql-js finds them by
 * scanning the source for line breaks, which in a 255 KB one-line document (the abuse mix)
 * read the whole document for every refusal. A document that does not lex this far is
 * given whole: the parser reports its error.
 */
function tokenLimitPrefix(query: string, maxTokens: number): string {
  // Every token is at least one character: a shorter text cannot have more.
  if (query.length <= maxTokens) return query;
  const lexer = new Lexer(new Source(query));
  try {
    for (let i = 0; i <= maxTokens; i++) {
      const token = lexer.advance(); // comments are skipped, as the parser's count does
      if (token.kind === TokenKind.EOF) return query;
      if (i === maxTokens) return query.slice(0, token.end);
    }
  } catch {
    // a lexical error: the whole document goes to the parser, which reports it
  }
  return query;
}

/**
 * Parses within the token limit. Returns the document, or the error to answer with:
 * QUERY_TOO_COMPLEX over the token limit, GRAPHQL_PARSE_FAILED for bad syntax (as over HTTP).
 */
export function parseWithinLimits(
  query: unknown,
  limits: QueryLimits = DEFAULT_LIMITS,
): DocumentNode | GraphQLError {
  if (typeof query !== 'string' || !query.trim()) {
    return new GraphQLError('The operation must contain a non-empty `query`.', {
      extensions: { code: 'BAD_REQUEST' },
    });
  }
  const { maxTokens } = resolveLimits(limits);
  try {
    return parse(tokenLimitPrefix(query, maxTokens), { maxTokens });
  } catch (e) {
    if (!(e instanceof GraphQLError)) throw e;
    const overTokens = TOKEN_LIMIT_MESSAGE.exec(e.message);
    if (overTokens) return tooComplex(`Document has more than ${overTokens[1]} tokens.`);
    // Where the error is (line and column), as Apollo's own parse failures say.
    return new GraphQLError(e.message, {
      source: e.source,
      positions: e.positions,
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
  }
}

/**
 * The largest number of selections any operation of `doc` makes, each fragment counted every
 * time it is spread (memoized per fragment, so a chain of spreads costs linear time; a cycle,
 * which validation refuses anyway, counts as zero).
 */
export function countSelections(doc: DocumentNode): number {
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of doc.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
  const memo = new Map<string, number | null>();
  const inFragment = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known ?? 0;
    memo.set(name, null);
    const set = fragments.get(name);
    const n = set ? inSet(set) : 0;
    memo.set(name, n);
    return n;
  };
  const inSet = (set: SelectionSetNode): number => {
    let n = 0;
    for (const sel of set.selections) {
      n += 1;
      if (sel.kind === Kind.FRAGMENT_SPREAD) n += inFragment(sel.name.value);
      else if (sel.selectionSet) n += inSet(sel.selectionSet);
    }
    return n;
  };
  let max = 0;
  for (const d of doc.definitions)
    if (d.kind === Kind.OPERATION_DEFINITION) max = Math.max(max, inSet(d.selectionSet));
  return max;
}

/** The refusal of a document with more selections than allowed, or null. Run it before validation. */
export function selectionLimitError(
  doc: DocumentNode,
  limits: QueryLimits = DEFAULT_LIMITS,
): GraphQLError | null {
  const max = resolveLimits(limits).maxSelections;
  const n = countSelections(doc);
  return n > max ? tooComplex(`Operation has ${n} selections; the limit is ${max}.`) : null;
}

/**
 * The pre-validation bounds for a raw query (HTTP): the token limit, then the selection limit.
 * Returns the refusal, or null; a syntax error is not a refusal here (it is answered
 * GRAPHQL_PARSE_FAILED on the normal path).
 */
export function documentBoundsError(
  query: unknown,
  limits: QueryLimits = DEFAULT_LIMITS,
): GraphQLError | null {
  if (typeof query !== 'string') return null;
  const parsed = parseWithinLimits(query, limits);
  if (parsed instanceof GraphQLError)
    return parsed.extensions.code === 'QUERY_TOO_COMPLEX' ? parsed : null;
  return selectionLimitError(parsed, limits);
}
