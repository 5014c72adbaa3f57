import type { CombinedError } from 'urql';

/** API errors as the API states them: `extensions.code` and message, one per line. */
export function ErrorList({ error }: { error?: CombinedError }) {
  if (!error) return null;
  const items = error.graphQLErrors.length
    ? error.graphQLErrors.map((e) => ({ code: String(e.extensions?.code ?? 'ERROR'), message: e.message }))
    : [{ code: 'NETWORK_ERROR', message: error.networkError?.message ?? error.message }];
  return (
    <ul className="errors" role="alert">
      {items.map((e, i) => (
        <li key={i}>
          <code className="error-code">{e.code}</code> {e.message}
        </li>
      ))}
    </ul>
  );
}
