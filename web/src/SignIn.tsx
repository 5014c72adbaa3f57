/**
 * Sign-in in the header: paste a token, or log in with a password (the `login` mutation
 * returns a session token). Signed in, it shows who you are (`viewer`).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { LoginDocument, LogoutDocument, ViewerDocument } from './gql/graphql';
import { endSession, setToken, useToken } from './token';
import { ErrorList } from './ErrorList';
import { isCredentialRefused } from './api';
import { handler } from './handler';

export function SignIn() {
  const token = useToken();
  return token ? <SignedIn /> : <SignInForms />;
}

function SignedIn() {
  const [{ data, error }] = useQuery({ query: ViewerDocument });
  const [, logout] = useMutation(LogoutDocument);
  // A stored token that no longer works (session over, token revoked): forget it, so the
  // sign-in forms come back instead of a dead end.
  const token = useToken();
  const stale = error ? isCredentialRefused(error) : false;
  useEffect(() => {
    if (stale) endSession(token);
  }, [stale, token]);
  const signOut = async () => {
    // Ends a session on the server; with an API token it only forgets the token here.
    await logout({});
    setToken('');
  };
  return (
    <div className="signin">
      {data?.viewer && (
        <span className="viewer" data-testid="viewer">
          Signed in as <strong>{data.viewer.username}</strong>
          {data.viewer.isAdmin ? ' (admin)' : ''}
        </span>
      )}
      {error && <ErrorList error={error} />}
      <button type="button" onClick={handler(signOut)}>
        Sign out
      </button>
    </div>
  );
}

function SignInForms() {
  const [tokenInput, setTokenInput] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [{ fetching, error }, login] = useMutation(LoginDocument);

  const submitToken = (e: FormEvent) => {
    e.preventDefault();
    setToken(tokenInput);
  };
  const loginSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await login({ username, password });
    if (r.data?.login?.token) setToken(r.data.login.token);
  };

  return (
    <div className="signin">
      <form onSubmit={submitToken} className="inline-form" aria-label="Sign in with a token">
        <input
          type="password"
          name="token"
          aria-label="API token"
          placeholder="API or session token"
          autoComplete="off"
          value={tokenInput}
          onChange={(e) => setTokenInput(e.target.value)}
        />
        <button type="submit" disabled={!tokenInput.trim()}>
          Use token
        </button>
      </form>
      <span className="or">or</span>
      <form onSubmit={handler(loginSubmit)} className="inline-form" aria-label="Log in">
        <input
          name="username"
          aria-label="Username"
          placeholder="username"
          autoComplete="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <input
          name="password"
          type="password"
          aria-label="Password"
          placeholder="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" disabled={fetching || !username || !password}>
          Log in
        </button>
      </form>
      <ErrorList error={error} />
    </div>
  );
}
