/**
 * `/events`: the platform event stream, newest first: the last page of history, then live
 * over `platformEvents` from the newest id seen (resumed from the last one after a reconnect).
 * Filtered by type and app; a new filter starts over.
 */
import { useMemo, useState } from 'react';
import { gql, useQuery, useSubscription } from 'urql';
import type { ResumableContext } from '../api';
import { ErrorList } from '../ErrorList';
import { Link, releasePath } from '../router';
import { When } from '../ui/common';

const TYPES = [
  'APP_CREATED', 'APP_DELETED', 'APP_UPDATED', 'MEMBER_CHANGED', 'POD_DELETED', 'RELEASE_CANCELED', 'RELEASE_CREATED', 'RELEASE_FAILED',
  'RELEASE_ROLLED_BACK', 'RELEASE_STARTED', 'RELEASE_SUCCEEDED', 'SETTINGS_CHANGED', 'TICKET_APPROVED', 'TICKET_CANCELED', 'TICKET_CREATED',
  'TICKET_EXPIRED', 'TICKET_REJECTED', 'TOKEN_CREATED', 'TOKEN_REVOKED', 'WORKLOAD_DEPLOYED', 'WORKLOAD_REMOVED', 'WORKLOAD_RESTARTED', 'WORKLOAD_SCALED',
];

interface PlatformEvent {
  id: string;
  type: string;
  app: string | null;
  env: string | null;
  actor: string | null;
  at: string;
  payload: Record<string, unknown>;
}

interface Filter {
  types?: string[];
  app?: string;
}

const FIELDS = 'id type app env actor at payload';

const HISTORY = gql<{ platformEvents: { edges: { node: PlatformEvent }[] } }, { filter: Filter }>`
  query EventHistory($filter: PlatformEventFilter) {
    platformEvents(first: 50, order: NEWEST_FIRST, filter: $filter) { edges { node { ${FIELDS} } } }
  }
`;

const LIVE = gql<{ platformEvents: PlatformEvent }, { filter: Filter; after: string | null }>`
  subscription LiveEvents($filter: PlatformEventFilter, $after: String) {
    platformEvents(filter: $filter, after: $after) { ${FIELDS} }
  }
`;

export function EventsPage() {
  const [type, setType] = useState('');
  const [app, setApp] = useState('');
  const filter: Filter = {};
  if (type) filter.types = [type];
  if (app.trim()) filter.app = app.trim();
  return (
    <section>
      <div className="page-head wrap">
        <h1>Events</h1>
        <div className="filters">
          <select aria-label="Type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">all types</option>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <input type="search" aria-label="App" placeholder="app" value={app} onChange={(e) => setApp(e.target.value)} />
        </div>
      </div>
      <EventStream key={JSON.stringify(filter)} filter={filter} />
    </section>
  );
}

const LIVE_MAX = 200;

function EventStream({ filter }: { filter: Filter }) {
  const [history] = useQuery({ query: HISTORY, variables: { filter }, requestPolicy: 'network-only' });
  const past = history.data?.platformEvents.edges.map((e) => e.node) ?? [];
  const context = useMemo<ResumableContext>(() => ({ resumeWith: (d: { platformEvents: PlatformEvent }) => ({ after: d.platformEvents.id }) }), []);
  // Live from the newest event of the history page: no gap and no duplicate between them.
  // (None yet: only new ones.)
  const after = past[0]?.id ?? null;
  const [live] = useSubscription(
    { query: LIVE, variables: { filter, after }, context, pause: !history.data },
    (prev: PlatformEvent[] = [], d) => (prev.some((e) => e.id === d.platformEvents.id) ? prev : [d.platformEvents, ...prev].slice(0, LIVE_MAX)),
  );
  const events = [...(live.data ?? []), ...past];
  return (
    <>
      <ErrorList error={history.error ?? live.error} />
      {history.data && !events.length && <p className="empty">No events yet; new ones appear here as they happen.</p>}
      <ol className="events">
        {events.map((e) => (
          <li key={e.id} data-testid="event">
            <span className="event-type">{e.type}</span>
            <span className="muted small">
              <When at={e.at} />
            </span>
            <span>
              {e.app && <Link href={`/apps/${encodeURIComponent(e.app)}`}>{e.app}</Link>}
              {e.env && <span className="muted"> · {e.env}</span>}
              {e.actor && <span className="muted"> · by {e.actor}</span>}
              {typeof e.payload.releaseId === 'string' && (
                <>
                  {' '}· <Link href={releasePath(e.payload.releaseId)}>release</Link>
                </>
              )}
            </span>
          </li>
        ))}
      </ol>
    </>
  );
}
