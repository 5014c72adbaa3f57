/**
 * `/releases`: recent releases across apps, filtered by app, environment and status. Kept
 * live by `platformEvents` (release and ticket events): each one re-reads the page.
 */
import { useEffect, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import {
  ReleaseEventsDocument,
  ReleasesDocument,
  type PlatformEventType,
  type ReleaseStatus,
} from '../gql/graphql';
import { ErrorList } from '../ErrorList';
import { Link, releasePath } from '../router';
import { StatusBadge, When } from '../ui/common';

/** Every status in lifecycle order, checked against the schema (a new status fails `npm run check` until listed). */
const STATUS_ORDER = {
  PENDING: 1,
  BUILDING: 2,
  PRECHECKING: 3,
  AWAITING_APPROVAL: 4,
  DEPLOYING: 5,
  VERIFYING: 6,
  PAUSED: 7,
  SUCCEEDED: 8,
  ROLLING_BACK: 9,
  ROLLED_BACK: 10,
  FAILED: 11,
  CANCELED: 12,
  REJECTED: 13,
} satisfies Record<ReleaseStatus, number>;
const STATUSES = Object.keys(STATUS_ORDER) as ReleaseStatus[];

interface Filter {
  app?: string;
  env?: string;
  status?: ReleaseStatus;
}

/** The events after which a release list may read differently. */
const TYPES: PlatformEventType[] = [
  'RELEASE_CREATED',
  'RELEASE_STARTED',
  'RELEASE_SUCCEEDED',
  'RELEASE_FAILED',
  'RELEASE_ROLLED_BACK',
  'RELEASE_CANCELED',
  'TICKET_CREATED',
  'TICKET_APPROVED',
  'TICKET_REJECTED',
];

export function ReleasesPage() {
  const [app, setApp] = useState('');
  const [env, setEnv] = useState('');
  const [status, setStatus] = useState('');
  const filter: Filter = {};
  if (app.trim()) filter.app = app.trim();
  if (env.trim()) filter.env = env.trim();
  if (status) filter.status = status as ReleaseStatus;
  return (
    <section>
      <div className="page-head wrap">
        <h1>Releases</h1>
        <div className="filters">
          <input
            type="search"
            aria-label="App"
            placeholder="app"
            value={app}
            onChange={(e) => setApp(e.target.value)}
          />
          <input
            type="search"
            aria-label="Environment"
            placeholder="environment"
            value={env}
            onChange={(e) => setEnv(e.target.value)}
          />
          <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ReleaseList filter={filter} />
    </section>
  );
}

/** A release table, live. Also used on the app page (filtered to one app). */
export function ReleaseList({ filter, hideApp }: { filter: Filter; hideApp?: boolean }) {
  const variables = { filter: Object.keys(filter).length ? filter : null };
  const [{ data, fetching, error }, refetch] = useQuery({ query: ReleasesDocument, variables });
  const [{ data: changes }] = useSubscription(
    {
      query: ReleaseEventsDocument,
      variables: {
        filter: {
          types: TYPES,
          ...(filter.app ? { app: filter.app } : {}),
          ...(filter.env ? { env: filter.env } : {}),
        },
      },
    },
    (n: number = 0) => n + 1,
  );
  useEffect(() => {
    if (changes) refetch({ requestPolicy: 'network-only' });
  }, [changes, refetch]);
  const rows = data?.releases.edges.map((e) => e.node) ?? [];
  return (
    <>
      <ErrorList error={error} />
      <div className="table-scroll">
        <table className="apps releases">
          <thead>
            <tr>
              <th>Status</th>
              {!hideApp && <th>App</th>}
              <th>Env</th>
              <th>Image</th>
              <th>By</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link href={releasePath(r.id)} aria-label={`Release of ${r.image} to ${r.env}`}>
                    <StatusBadge status={r.status} />
                  </Link>
                </td>
                {!hideApp && (
                  <td>
                    <Link href={`/apps/${encodeURIComponent(r.app)}`}>{r.app}</Link>
                  </td>
                )}
                <td>{r.env}</td>
                <td>
                  <Link href={releasePath(r.id)}>
                    <code>{r.image}</code>
                  </Link>
                </td>
                <td>{r.createdBy}</td>
                <td className="muted">
                  <When at={r.createdAt} />
                </td>
              </tr>
            ))}
            {!rows.length && (
              <tr className="list-foot">
                <td colSpan={hideApp ? 5 : 6} className="muted">
                  {fetching && !data ? 'Loading…' : 'No releases yet.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}
