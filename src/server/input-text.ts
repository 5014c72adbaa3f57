/**
 * Refuses text that is not well-formed Unicode, or holds NUL, before an operation runs (see
 * domain/shared/text.ts for NUL): a string holding an unpaired UTF-16 surrogate (`"ok\udfff"` in JSON) cannot be stored faithfully. MySQL's
 * utf8mb4 columns turn it into U+FFFD and its JSON columns refuse it (`json_valid`), so such a
 * value was applied to the app but its audit entry and its platform event failed: a change
 * without a trace, or an INTERNAL_SERVER_ERROR after the change. Every string the API takes
 * passes through here (HTTP: an Apollo plugin's `didResolveOperation`; graphql-ws:
 * `onSubscribe`), so no domain service has to remember it.
 *
 * graphql-js 16 already refuses lone surrogates in the document's string literals (a syntax
 * error); the literals are checked anyway, so a parser that accepts them changes nothing.
 */
import { GraphQLError, Kind, visit, type ASTNode, type DocumentNode } from 'graphql';
import { isWellFormedText, toWellFormedText } from '../domain/shared/text.js';

/** The path (`$input.startCommand`, `$tags.1`) of the first bad string in a variable value, keys included. */
function badPathIn(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return isWellFormedText(value) ? null : path;
  if (depth > 64 || value === null || typeof value !== 'object') return null;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  for (const [k, v] of entries) {
    if (!isWellFormedText(k)) return `${path}.${toWellFormedText(k)}`;
    const found = badPathIn(v, `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/** A readable path to a string literal in the document: field (response key), argument, object fields. */
function literalPath(ancestors: readonly (ASTNode | readonly ASTNode[])[]): string {
  const parts: string[] = [];
  for (const a of ancestors) {
    if (Array.isArray(a) || !('kind' in (a as ASTNode))) continue;
    const n = a as ASTNode;
    if (n.kind === Kind.FIELD) parts.push(n.alias?.value ?? n.name.value);
    else if (n.kind === Kind.ARGUMENT || n.kind === Kind.OBJECT_FIELD) parts.push(n.name.value);
    else if (n.kind === Kind.DIRECTIVE) parts.push(`@${n.name.value}`);
    else if (n.kind === Kind.VARIABLE_DEFINITION) parts.push(`$${n.variable.name.value}`);
  }
  return parts.join('.');
}

/** Per parsed document (reused for the same text): the path of its first malformed literal, or null. */
const literalVerdicts = new WeakMap<DocumentNode, string | null>();

function malformedLiteral(document: DocumentNode): string | null {
  const known = literalVerdicts.get(document);
  if (known !== undefined) return known;
  let field: string | null = null;
  visit(document, {
    StringValue(node, _key, parent, _path, ancestors) {
      if (field || isWellFormedText(node.value)) return;
      // `ancestors` stops above the parent (the argument or object field naming the string).
      field = literalPath(parent ? [...ancestors, parent] : ancestors) || '(literal)';
    },
  });
  literalVerdicts.set(document, field);
  return field;
}

/**
 * The refusal for the first string in `document` or `variables` that holds an unpaired
 * surrogate (BAD_USER_INPUT, HTTP 400, `extensions.field`: `$var.path` for a variable, the
 * field/argument path for a literal), or null when all text is well-formed.
 */
export function malformedTextError(
  document: DocumentNode | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError | null {
  let field: string | null = null;
  if (variables && typeof variables === 'object') {
    for (const [name, value] of Object.entries(variables)) {
      field = !isWellFormedText(name) ? `$${toWellFormedText(name)}` : badPathIn(value, `$${name}`);
      if (field) break;
    }
  }
  if (!field && document) field = malformedLiteral(document);
  if (!field) return null;
  return new GraphQLError(
    `${field} is not valid text: it holds an unpaired UTF-16 surrogate or a NUL character (send well-formed Unicode without U+0000).`,
    {
      extensions: { code: 'BAD_USER_INPUT', field, http: { status: 400 } },
    },
  );
}
