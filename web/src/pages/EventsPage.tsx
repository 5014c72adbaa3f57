/**
 * `/events`: the platform event stream, newest first: the last page of history, then live
 * over `platformEvents` from the newest id seen (resumed from the last one after a reconnect).
 * Filtered by type and app; a new filter starts over.
 */
import { useMemo, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import {
  EventHistoryDocument,
  LiveEventsDocument,
  type EventFieldsFragment,
  type LiveEventsSubscription,
  type LiveEventsSubscriptionVariables,
  type PlatformEventType,
} from '../gql/graphql';
import type { ResumableContext } from '../api';
import { ErrorList } from '../ErrorList';
import { Link, releasePath } from '../router';
import { When } from '../ui/common';

/** Every event type, checked against the schema: a type added to the API fails `npm run check` until it is listed. */
const TYPE_SET = {
  APP_CREATED: true,
  APP_DELETED: true,
  APP_UPDATED: true,
  BUILD_FAILED: true,
  BUILD_STARTED: true,
  BUILD_SUCCEEDED: true,
  MEMBER_CHANGED: true,
  POD_DELETED: true,
  RELEASE_CANCELED: true,
  RELEASE_CREATED: true,
  RELEASE_FAILED: true,
  RELEASE_ROLLED_BACK: true,
  RELEASE_STARTED: true,
  RELEASE_SUCCEEDED: true,
  SETTINGS_CHANGED: true,
  TICKET_APPROVED: true,
  TICKET_CANCELED: true,
  TICKET_CREATED: true,
  TICKET_EXPIRED: true,
  TICKET_REJECTED: true,
  TOKEN_CREATED: true,
  TOKEN_REVOKED: true,
  WORKLOAD_DEPLOYED: true,
  WORKLOAD_REMOVED: true,
  WORKLOAD_RESTARTED: true,
  WORKLOAD_SCALED: true,
} satisfies Record<PlatformEventType, true>;
const TYPES = Object.keys(TYPE_SET) as PlatformEventType[];

type PlatformEvent = EventFieldsFragment;

interface Filter {
  types?: PlatformEventType[];
  app?: string;
}

export function EventsPage() {
  const [type, setType] = useState('');
  const [app, setApp] = useState('');
  const filter: Filter = {};
  if (type) filter.types = [type as PlatformEventType];
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
          <input
            type="search"
            aria-label="App"
            placeholder="app"
            value={app}
            onChange={(e) => setApp(e.target.value)}
          />
        </div>
      </div>
      <EventStream key={JSON.stringify(filter)} filter={filter} />
    </section>
  );
}

const LIVE_MAX = 200;

function EventStream({ filter }: { filter: Filter }) {
  const [history] = useQuery({
    query: EventHistoryDocument,
    variables: { filter },
    requestPolicy: 'network-only',
  });
  const past = history.data?.platformEvents.edges.map((e) => e.node) ?? [];
  const context = useMemo<ResumableContext<{ platformEvents: PlatformEvent }>>(
    () => ({
      resumeWith: (d) => ({ after: d.platformEvents.id }),
    }),
    [],
  );
  // Live from the newest event of the history page: no gap and no duplicate between them.
  // (None yet: only new ones.)
  const after = past[0]?.id ?? null;
  const [live] = useSubscription<
    LiveEventsSubscription,
    PlatformEvent[],
    LiveEventsSubscriptionVariables
  >(
    { query: LiveEventsDocument, variables: { filter, after }, context, pause: !history.data },
    (prev: PlatformEvent[] = [], d) =>
      prev.some((e) => e.id === d.platformEvents.id)
        ? prev
        : [d.platformEvents, ...prev].slice(0, LIVE_MAX),
  );
  const events = [...(live.data ?? []), ...past];
  return (
    <>
      <ErrorList error={history.error ?? live.error} />
      {history.data && !events.length && (
        <p className="empty">No events yet; new ones appear here as they happen.</p>
      )}
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
                  {' '}
                  · <Link href={releasePath(e.payload.releaseId)}>release</Link>
                </>
              )}
            </span>
          </li>
        ))}
      </ol>
    </>
  );
}
