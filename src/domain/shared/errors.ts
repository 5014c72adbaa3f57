/**
 * Domain errors with stable codes. The GraphQL layer copies `code` (and `field`) into
 * `extensions`, so clients can branch on them; messages are for people.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'UNAVAILABLE'
  | 'RATE_LIMITED'
  /** A resume point (`after`) older than what retention keeps: start again from the oldest kept event. */
  | 'EVENTS_EXPIRED';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { field?: string; [k: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const unauthenticated = (
  msg = 'Sign in first: send the header "Authorization: Bearer <token>" (over graphql-ws: an "authorization" key in the connection_init payload).',
) => new DomainError('UNAUTHENTICATED', msg);
export const forbidden = (msg = 'You are not allowed to do this.') =>
  new DomainError('FORBIDDEN', msg);
export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found.`);
export const badInput = (field: string, msg: string) =>
  new DomainError('BAD_USER_INPUT', msg, { field });
export const conflict = (msg: string, details: Record<string, unknown> = {}) =>
  new DomainError('CONFLICT', msg, details);
