/**
 * Query limits, each refused before execution with its own `extensions.code`:
 * depth (QUERY_TOO_DEEP), cost (QUERY_TOO_COMPLEX), aliases (TOO_MANY_ALIASES),
 * directives (TOO_MANY_DIRECTIVES). Body size is limited by the HTTP layer (PAYLOAD_TOO_LARGE).
 * The rules come from graphql-armor; we only attach stable codes to their findings.
 */
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
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
