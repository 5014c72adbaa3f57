import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { badInput } from '../domain/shared/errors.js';
import { isWellFormedText } from '../domain/shared/text.js';

@ObjectType({ description: 'Relay page info.' })
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field() hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page size, 1–${MAX_PAGE} (default ${DEFAULT_PAGE}).`,
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last edge of the previous page.',
  })
  after?: string | null;
}

/** Validated page size. */
export function pageSize(first: number | null | undefined): number {
  const n = first ?? DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE)
    throw badInput('first', `first must be between 1 and ${MAX_PAGE}.`);
  return n;
}

/** Cursors are opaque: base64url of a small JSON key. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T>(
  cursor: string | null | undefined,
  check: (v: unknown) => v is T,
): T | undefined {
  if (!cursor) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    // A hand-made cursor's key is input too: no NUL or lone surrogate reaches the SQL.
    const texts = typeof v === 'object' && v !== null ? Object.values(v) : [v];
    if (check(v) && texts.every((t) => typeof t !== 'string' || isWellFormedText(t))) return v;
  } catch {
    /* fall through */
  }
  throw badInput('after', 'Invalid cursor: pass an endCursor or edge cursor from a previous page.');
}

export function pageInfo(
  cursors: string[],
  hasNextPage: boolean,
  hasPreviousPage: boolean,
): PageInfo {
  return {
    hasNextPage,
    hasPreviousPage,
    startCursor: cursors[0] ?? null,
    endCursor: cursors[cursors.length - 1] ?? null,
  };
}
