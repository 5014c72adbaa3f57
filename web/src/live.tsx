/**
 * The header's live indicator, from the graphql-ws client's own events: whether the pages'
 * subscriptions are being delivered right now.
 */
import { useEffect, useState } from 'react';
import type { Client as WsClient } from 'graphql-ws';

/**
 * - `idle`: no socket, and none needed (nothing on the page subscribes; the client is lazy);
 * - `connecting`: opening the first socket;
 * - `live`: connected and acknowledged: subscriptions are delivered;
 * - `reconnecting`: the socket dropped; graphql-ws is retrying (with backoff) and the pages
 *   resume where they were (see api.ts) once it is back;
 * - `refused`: the server closed with 4401 (the credential stopped working): no retry.
 */
export type LiveState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'refused';

/** graphql-ws's close code for "Unauthorized"; the server uses it for a credential that stopped working. */
const UNAUTHORIZED = 4401;
/** A normal closure: the lazy client closing an unused socket. */
const NORMAL = 1000;

export function useLiveState(ws: WsClient | null): LiveState {
  const [state, setState] = useState<LiveState>('idle');
  useEffect(() => {
    if (!ws) return;
    setState('idle');
    const offs = [
      ws.on('connecting', (isRetry) => setState(isRetry ? 'reconnecting' : 'connecting')),
      ws.on('connected', () => setState('live')),
      ws.on('closed', (event) => {
        const code = (event as { code?: number } | null)?.code;
        if (code === UNAUTHORIZED) setState('refused');
        else if (code === NORMAL) setState('idle');
        // Anything else is a drop: graphql-ws retries while something subscribes.
        else setState('reconnecting');
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [ws]);
  return state;
}

const LABELS: Record<LiveState, string> = {
  idle: '',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  refused: 'Not live',
};

const TITLES: Record<LiveState, string> = {
  idle: '',
  connecting: 'Opening the live connection.',
  live: 'Live updates are arriving.',
  reconnecting:
    'The live connection dropped; reconnecting. The page catches up by itself once it is back.',
  refused: 'The server refused the live connection: sign in again.',
};

export function LiveIndicator({ state }: { state: LiveState }) {
  if (state === 'idle')
    return (
      <span className="live live-idle" data-testid="live" data-state="idle" aria-hidden="true" />
    );
  return (
    <span
      className={`live live-${state}`}
      data-testid="live"
      data-state={state}
      role="status"
      title={TITLES[state]}
    >
      <span className="live-dot" aria-hidden="true" />
      {LABELS[state]}
    </span>
  );
}
