/**
 * `/builds/<id>`: one build, its log live (`buildLog` from offset 0, resumed from the last
 * `nextOffset` if the socket drops, see api.ts), its image and scanned dependencies; "Cancel"
 * when the API says the viewer may (`viewerCanCancel`).
 */
import { useEffect, useMemo, useRef } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import type { ResumableContext } from '../api';
import { ErrorList } from '../ErrorList';
import { Link } from '../router';
import { Card, Fields, StatusBadge, When } from '../ui/common';
import {
  BUILD,
  BUILD_LOG,
  BUILD_TERMINAL,
  CANCEL_BUILD,
  type Build,
  type LogChunk,
} from './build-docs';
import { handler } from '../handler';

interface Log {
  lines: string[];
  next: number;
}

/** Pure (urql calls it again on completion, and twice under StrictMode): skips what it has seen. */
function onChunk(prev: Log | undefined, data: { buildLog: LogChunk }): Log {
  const log = prev ?? { lines: [], next: 0 };
  const c = data.buildLog;
  if (c.nextOffset <= log.next) return log;
  return { lines: [...log.lines, ...c.lines], next: c.nextOffset };
}

export function BuildPage({ id }: { id: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: BUILD, variables: { id } });
  const context = useMemo<ResumableContext<{ buildLog: LogChunk }>>(
    () => ({ resumeWith: (d) => ({ offset: d.buildLog.nextOffset }) }),
    [],
  );
  const [{ data: log, error: logError, fetching: live }] = useSubscription(
    { query: BUILD_LOG, variables: { id, offset: 0 }, context, pause: !data?.build },
    onChunk,
  );
  // The log completes when the build ended: read the build again (status, image, dependencies).
  const lines = log?.lines.length ?? 0;
  useEffect(() => {
    if (!live && lines) refetch({ requestPolicy: 'network-only' });
  }, [live, lines, refetch]);
  const b = data?.build;
  return (
    <section>
      <p className="crumbs">
        <Link href="/">Apps</Link>
        {b && (
          <>
            {' '}
            / <Link href={`/apps/${encodeURIComponent(b.app)}`}>{b.app}</Link> / build #{b.number}
          </>
        )}
      </p>
      <ErrorList error={error} />
      {fetching && !data && <p className="muted">Loading…</p>}
      {data && !b && <p className="empty">There is no build with this id.</p>}
      {b && (
        <BuildView
          build={b}
          lines={log?.lines ?? []}
          live={live}
          onChanged={() => refetch({ requestPolicy: 'network-only' })}
        />
      )}
      <ErrorList error={logError} />
    </section>
  );
}

function BuildView({
  build: b,
  lines,
  live,
  onChanged,
}: {
  build: Build;
  lines: string[];
  live: boolean;
  onChanged: () => void;
}) {
  const [{ fetching, error }, cancel] = useMutation(CANCEL_BUILD);
  const end = useRef<HTMLLIElement>(null);
  // Braces: newer Chromium returns a Promise from scrollIntoView, which React would take for a cleanup.
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' });
  }, [lines.length]);
  return (
    <>
      <div className="page-head wrap">
        <h1>
          {b.app} <span className="muted">build #{b.number}</span>
        </h1>
        <StatusBadge status={b.status} />
        {b.cancelRequested && !BUILD_TERMINAL.has(b.status) && (
          <span className="muted">cancel requested</span>
        )}
        {b.viewerCanCancel && (
          <button
            type="button"
            className="secondary"
            disabled={fetching}
            onClick={handler(async () => (await cancel({ id: b.id })).data && onChanged())}
          >
            Cancel build
          </button>
        )}
      </div>
      <ErrorList error={error} />
      {b.message && (
        <p
          className={`callout ${b.status === 'SUCCEEDED' ? '' : 'callout-bad'}`}
          data-testid="build-message"
        >
          {b.message}
        </p>
      )}
      <div className="cards">
        <Card title="Build">
          <Fields
            rows={[
              [
                'App',
                <Link key="a" href={`/apps/${encodeURIComponent(b.app)}`}>
                  {b.app}
                </Link>,
              ],
              ['Ref', b.ref ?? 'default branch'],
              ['Commit', b.commit ? <code key="c">{b.commit.slice(0, 12)}</code> : '—'],
              ['Image', b.image ? <code key="i">{b.image}</code> : '—'],
              ['Triggered by', b.triggeredBy],
              ['Started', <When key="s" at={b.startedAt} />],
              ['Finished', <When key="f" at={b.finishedAt} />],
            ]}
          />
        </Card>
        <Card title={`Dependencies${b.dependencies ? ` (${b.dependencies.length})` : ''}`}>
          {b.dependencies?.length ? (
            <table className="members">
              <tbody>
                {b.dependencies.map((d) => (
                  <tr key={`${d.name}@${d.version}@${d.path}`}>
                    <td>{d.name}</td>
                    <td>{d.version}</td>
                    <td className="muted small">{d.path}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">
              {b.dependencies ? 'None found.' : 'Scanned when the build succeeds.'}
            </p>
          )}
        </Card>
      </div>
      <Card title={live && !BUILD_TERMINAL.has(b.status) ? 'Log (live)' : 'Log'} className="log">
        {lines.length ? (
          <ol className="build-log" aria-label="Build log">
            {lines.map((l, i) => (
              <li key={i} ref={i === lines.length - 1 ? end : undefined}>
                {l}
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted">Waiting for the log…</p>
        )}
      </Card>
    </>
  );
}
