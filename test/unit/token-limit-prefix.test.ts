/**
 * parseWithinLimits parses only the text up to the first token past `maxTokens` (so that a huge
 * one-line document's refusal does not scan it whole for the error's line and column): the
 * outcome must be exactly the whole document's.
 */
import { describe, expect, it } from 'vitest';
import { GraphQLError, parse } from 'graphql';
import { DEFAULT_LIMITS, parseWithinLimits } from '../../src/server/limits.js';

const limits = { ...DEFAULT_LIMITS, maxTokens: 50 };

/** What graphql-js says of the whole document: a document, or its error's message and locations. */
function whole(query: string): unknown {
  try {
    return { ok: parse(query, { maxTokens: 50, noLocation: true }).definitions.length };
  } catch (e) {
    return { message: (e as GraphQLError).message, locations: (e as GraphQLError).locations };
  }
}

function ours(query: string): unknown {
  const r = parseWithinLimits(query, limits);
  if (r instanceof GraphQLError)
    return { message: r.message, code: r.extensions.code, locations: r.locations };
  return { ok: r.definitions.length };
}

describe('the token limit on a prefix', () => {
  it('refuses a long one-line document over the limit, as the whole parse would', () => {
    const q = `{ ${'viewer{username} '.repeat(5000)}}`;
    expect(ours(q)).toEqual({
      message: 'Document has more than 50 tokens.',
      code: 'QUERY_TOO_COMPLEX',
      locations: undefined,
    });
    expect((whole(q) as { message: string }).message).toMatch(/more tha[nt] 50 tokens/);
  });

  it('reports a syntax error before the limit with the same message and line/column', () => {
    const q = `{\n  a(x: ) b c\n${'d\n'.repeat(3000)}}`;
    const w = whole(q) as { message: string; locations: unknown };
    expect(w.message).toMatch(/^Syntax Error/);
    expect(ours(q)).toEqual({ ...w, code: 'GRAPHQL_PARSE_FAILED' });
  });

  it('counts as the parser does: comments are not tokens, exactly the limit passes', () => {
    // `{` + 48 fields + `}` = 50 tokens, with a comment line after each field.
    const at = `{\n${Array.from({ length: 48 }, (_, i) => `f${i} # note ${i}\n`).join('')}}`;
    expect(ours(at)).toEqual({ ok: 1 });
    expect(whole(at)).toEqual({ ok: 1 });
    const over = at.replace('f0', 'f0 extra');
    expect(ours(over)).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    expect((whole(over) as { message: string }).message).toMatch(/more tha[nt] 50 tokens/);
  });

  it('leaves a lexical error past the limit to the whole parse (same answer as before)', () => {
    const q = `{ ${'a '.repeat(100)} "unterminated`;
    expect(ours(q)).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    const bad = `{ a "unterminated ${'b '.repeat(100)}`;
    const w = whole(bad) as { message: string; locations: unknown };
    expect(ours(bad)).toEqual({ ...w, code: 'GRAPHQL_PARSE_FAILED' });
  });
});
