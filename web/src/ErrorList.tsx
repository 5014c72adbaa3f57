import type { CombinedError } from 'urql';

/**
 * What an error code means to a person; the API's own message and code stay in a detail
 * line below it (support and bug reports need them).
 */
const HEADLINES: Record<string, string> = {
  UNAUTHENTICATED: 'You are not signed in, or your session expired — sign in again.',
  FORBIDDEN: 'You are not allowed to do this.',
  NOT_FOUND: 'That does not exist (or you may not see it).',
  CONFLICT: 'That could not be done as things stand now.',
  BAD_USER_INPUT: 'Something in the form needs fixing.',
  RATE_LIMITED: 'Too many attempts — wait a moment and try again.',
  UNAVAILABLE: 'Phantom cannot do this right now — try again shortly.',
  NETWORK_ERROR:
    'Phantom could not be reached — check your connection; this page retries by itself.',
};

/**
 * API errors for people: a sentence per error, with the API's code and message as detail.
 * `headlines` replaces the sentence of a code where the page knows better what it means
 * (a CONFLICT on an edit form: someone else changed it).
 */
export function ErrorList({
  error,
  headlines,
}: {
  error?: CombinedError | null;
  headlines?: Partial<Record<string, string>>;
}) {
  if (!error) return null;
  const items = error.graphQLErrors.length
    ? error.graphQLErrors.map((e) => ({
        code: typeof e.extensions?.code === 'string' ? e.extensions.code : 'ERROR',
        message: e.message,
      }))
    : [{ code: 'NETWORK_ERROR', message: error.networkError?.message ?? error.message }];
  return (
    <ul className="errors" role="alert">
      {items.map((e, i) => (
        <li key={i}>
          <span className="error-headline">
            {headlines?.[e.code] ?? HEADLINES[e.code] ?? 'Something went wrong.'}
          </span>
          <span className="error-detail">
            <code className="error-code">{e.code}</code> {e.message}
          </span>
        </li>
      ))}
    </ul>
  );
}
