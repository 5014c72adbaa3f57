/**
 * `/releases/<id>`: one release, live. The header, steps, per-cluster pod counts and
 * prechecks follow `releaseProgress` (resumed with `after` if the socket drops, see api.ts);
 * the pod grid follows `podEvents`; the buttons come from the API's `viewerCan…` fields and
 * the ticket's `viewerCanDecide`.
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { useMutation, useQuery, useSubscription, type CombinedError } from 'urql';
import type { ResumableContext } from '../api';
import { ErrorList } from '../ErrorList';
import { Link, navigate, releasePath } from '../router';
import { Card, Fields, StatusBadge, When } from '../ui/common';
import {
  APPROVE,
  CANCEL,
  POD_EVENTS,
  PROMOTE,
  REJECT,
  RELEASE,
  RELEASE_PROGRESS,
  ROLLBACK,
  TERMINAL,
  WORKLOAD_PODS,
  type ClusterProgress,
  type Pod,
  type PodEvent,
  type ProgressEntry,
  type Release,
  type ReleaseState,
  type TicketSummary,
} from './release-docs';
import { handler } from '../handler';

interface Feed {
  /** Newest first, at most LOG_SIZE. */
  entries: ProgressEntry[];
  lastSeq: number;
  state: ReleaseState | null;
}

const LOG_SIZE = 50;

/** Pure (urql calls it again on completion, and twice under StrictMode): skips what it has seen. */
function onProgress(prev: Feed | undefined, data: { releaseProgress: ProgressEntry }): Feed {
  const feed = prev ?? { entries: [], lastSeq: 0, state: null };
  const e = data.releaseProgress;
  const seq = Number(e.sequence);
  if (seq <= feed.lastSeq) return feed;
  return { entries: [e, ...feed.entries].slice(0, LOG_SIZE), lastSeq: seq, state: e.release };
}

export function ReleasePage({ id }: { id: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: RELEASE, variables: { id } });
  // After a reconnect graphql-ws subscribes again with `after` = the last sequence seen.
  const context = useMemo<ResumableContext<{ releaseProgress: ProgressEntry }>>(
    () => ({
      resumeWith: (d) => ({
        after: d.releaseProgress.sequence,
      }),
    }),
    [],
  );
  const [{ data: feed, error: feedError }] = useSubscription(
    { query: RELEASE_PROGRESS, variables: { id, after: null }, context, pause: !data?.release },
    onProgress,
  );

  // A status change can change the buttons and the ticket: ask the API again (never guessed here).
  const liveStatus = feed?.state?.status;
  useEffect(() => {
    if (liveStatus) refetch({ requestPolicy: 'network-only' });
  }, [liveStatus, refetch]);

  const base = data?.release;
  const release: Release | null | undefined =
    base && feed?.state ? { ...base, ...feed.state } : base;
  return (
    <section>
      <p className="crumbs">
        <Link href="/releases">Releases</Link>
        {release && (
          <>
            {' '}
            / <Link href={`/apps/${encodeURIComponent(release.app)}`}>{release.app}</Link> /{' '}
            {release.env}
          </>
        )}
      </p>
      <ErrorList error={error} />
      {fetching && !data && <p className="muted">Loading…</p>}
      {data && !release && <p className="empty">There is no release with this id.</p>}
      {release && (
        <ReleaseView
          release={release}
          entries={feed?.entries ?? []}
          feedError={feedError}
          onChanged={() => refetch({ requestPolicy: 'network-only' })}
        />
      )}
    </section>
  );
}

function ReleaseView({
  release: r,
  entries,
  feedError,
  onChanged,
}: {
  release: Release;
  entries: ProgressEntry[];
  feedError?: CombinedError;
  onChanged: () => void;
}) {
  return (
    <>
      <div className="page-head wrap">
        <h1>
          {r.app} <span className="muted">→</span> {r.env}
        </h1>
        <StatusBadge status={r.status} />
        {r.cancelRequested && !TERMINAL.has(r.status) && (
          <span className="muted">cancel requested</span>
        )}
        <ReleaseActions release={r} onChanged={onChanged} />
      </div>
      {r.message && (
        <p
          className={`callout ${r.status === 'SUCCEEDED' ? '' : 'callout-bad'}`}
          data-testid="release-message"
        >
          {r.message}
        </p>
      )}
      <ErrorList error={feedError} />
      <div className="cards">
        <Card title="Release">
          <Fields
            rows={[
              [
                'App',
                <Link key="a" href={`/apps/${encodeURIComponent(r.app)}`}>
                  {r.app}
                </Link>,
              ],
              ['Environment', r.env],
              ['Image', <code key="i">{r.image}</code>],
              ['Strategy', r.strategy],
              ['Started by', r.createdBy],
              ['Created', <When key="c" at={r.createdAt} />],
              ['Finished', <When key="f" at={r.finishedAt} />],
              ...(r.rollbackOf
                ? ([
                    [
                      'Rolls back',
                      <Link key="rb" href={releasePath(r.rollbackOf.id)}>
                        {r.rollbackOf.image}
                      </Link>,
                    ],
                  ] as [string, ReactNode][])
                : []),
              ...(r.description ? ([['Description', r.description]] as [string, string][]) : []),
            ]}
          />
        </Card>
        <Card title="Steps">
          <Steps steps={r.steps} />
        </Card>
        <Card title="Clusters">
          {r.clusters.length ? (
            r.clusters.map((c) => <ClusterBars key={`${c.cluster}/${c.namespace}`} c={c} />)
          ) : (
            <p className="muted">No pods counted yet.</p>
          )}
        </Card>
        <Card title="Prechecks">
          {r.prechecks.length ? (
            <ul className="checks">
              {r.prechecks.map((p) => (
                <li key={p.rule} className={p.passed ? 'ok' : 'bad'}>
                  <span aria-hidden="true">{p.passed ? '✓' : '✗'}</span> <strong>{p.rule}</strong>{' '}
                  <span className="muted">{p.message}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">Not run yet.</p>
          )}
        </Card>
        {r.ticket && (
          <Card title="Approval">
            <TicketBox ticket={r.ticket} onChanged={onChanged} />
          </Card>
        )}
      </div>
      <PodGrid app={r.app} env={r.env} status={r.status} />
      <Card title="Progress" className="log">
        {entries.length ? (
          <ol className="progress-log">
            {entries.map((e) => (
              <li key={e.sequence}>
                <span className="muted small">
                  #{e.sequence} · <When at={e.at} /> · {e.kind}
                </span>{' '}
                {e.message}
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted">Waiting for progress…</p>
        )}
      </Card>
    </>
  );
}

function ReleaseActions({ release: r, onChanged }: { release: Release; onChanged: () => void }) {
  const [cancelState, cancel] = useMutation(CANCEL);
  const [promoteState, promote] = useMutation(PROMOTE);
  const [rollbackState, rollback] = useMutation(ROLLBACK);
  const busy = cancelState.fetching || promoteState.fetching || rollbackState.fetching;
  if (
    !r.viewerCanCancel &&
    !r.viewerCanPromote &&
    !r.viewerCanRollback &&
    !cancelState.error &&
    !promoteState.error &&
    !rollbackState.error
  )
    return null;
  return (
    <div className="actions">
      {r.viewerCanPromote && (
        <button
          type="button"
          disabled={busy}
          onClick={handler(async () => (await promote({ id: r.id })).data && onChanged())}
        >
          Promote
        </button>
      )}
      {r.viewerCanCancel && (
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={handler(async () => (await cancel({ id: r.id })).data && onChanged())}
        >
          Cancel release
        </button>
      )}
      {r.viewerCanRollback && (
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={handler(async () => {
            const res = await rollback({ id: r.id });
            if (res.data) navigate(releasePath(res.data.rollbackRelease.id));
          })}
        >
          Roll back
        </button>
      )}
      <ErrorList error={cancelState.error ?? promoteState.error ?? rollbackState.error} />
    </div>
  );
}

/** A ticket's state, and approve/reject with a comment when the API says the viewer may decide. */
export function TicketBox({
  ticket: t,
  onChanged,
}: {
  ticket: TicketSummary;
  onChanged: () => void;
}) {
  const [comment, setComment] = useState('');
  const [approveState, approve] = useMutation(APPROVE);
  const [rejectState, reject] = useMutation(REJECT);
  const busy = approveState.fetching || rejectState.fetching;
  const decide = async (
    how: (v: { id: string; comment: string | null }) => Promise<{ data?: unknown }>,
  ) => {
    const res = await how({ id: t.id, comment: comment.trim() || null });
    if (res.data) onChanged();
  };
  return (
    <div className="ticket" data-testid="ticket">
      <p>
        <StatusBadge status={t.status} /> asked by <strong>{t.requester}</strong>
        {t.decidedBy && (
          <>
            {' '}
            · decided by <strong>{t.decidedBy}</strong>
          </>
        )}
      </p>
      {t.reason && <p className="muted">{t.reason}</p>}
      {t.comment && <p>“{t.comment}”</p>}
      {t.status === 'OPEN' && (
        <p className="muted small">
          Expires <When at={t.expiresAt} />
        </p>
      )}
      {t.viewerCanDecide && (
        <div className="decide">
          <input
            aria-label="Comment"
            placeholder="Comment (optional)"
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            maxLength={2000}
          />
          <button type="button" disabled={busy} onClick={handler(() => decide(approve))}>
            Approve
          </button>
          <button
            type="button"
            className="secondary"
            disabled={busy}
            onClick={handler(() => decide(reject))}
          >
            Reject
          </button>
        </div>
      )}
      <ErrorList error={approveState.error ?? rejectState.error} />
    </div>
  );
}

function Steps({ steps }: { steps: Release['steps'] }) {
  return (
    <ol className="steps">
      {steps.map((s, i) => (
        <li key={i} className={`step step-${s.status.toLowerCase()}`}>
          <span className="step-dot" aria-hidden="true" />
          <div>
            <strong>{s.name}</strong>
            {s.cluster && (
              <span className="muted">
                {' '}
                · {s.cluster}/{s.namespace}
              </span>
            )}{' '}
            <span className="step-status">{s.status}</span>
            {s.message && <div className="small muted">{s.message}</div>}
          </div>
        </li>
      ))}
    </ol>
  );
}

function ClusterBars({ c }: { c: ClusterProgress }) {
  const max = Math.max(c.desired, 1);
  const bar = (label: string, value: number) => (
    <div className="bar" key={label}>
      <span className="bar-label">{label}</span>
      <progress max={max} value={Math.min(value, max)} aria-label={`${c.cluster} ${label}`} />
      <span className="bar-value">
        {value}/{c.desired}
      </span>
    </div>
  );
  return (
    <div className="cluster" data-testid={`cluster-${c.cluster}`}>
      <div>
        <strong>{c.cluster}</strong> <span className="muted">{c.namespace}</span>
      </div>
      {bar('updated', c.updated)}
      {bar('ready', c.ready)}
      {bar('available', c.available)}
    </div>
  );
}

type PodMap = Record<string, { cluster: string; pod: Pod } | null>;

function onPodEvent(prev: PodMap | undefined, data: { podEvents: PodEvent }): PodMap {
  const e = data.podEvents;
  return {
    ...prev,
    [`${e.cluster}/${e.pod.name}`]:
      e.type === 'DELETED' ? null : { cluster: e.cluster, pod: e.pod },
  };
}

/** The app's pods in the release's environment: listed once, then kept live by `podEvents`. */
function PodGrid({ app, env, status }: { app: string; env: string; status: string }) {
  const [{ data, error }, refetch] = useQuery({ query: WORKLOAD_PODS, variables: { app, env } });
  const [{ data: changes }] = useSubscription(
    { query: POD_EVENTS, variables: { app, env } },
    onPodEvent,
  );
  // Each status change re-lists, so pods that changed before the subscription started are not missed.
  useEffect(() => {
    refetch({ requestPolicy: 'network-only' });
  }, [status, refetch]);
  const pods: PodMap = {};
  // A canary's pods too (podEvents brings them as well: they carry the app's labels).
  for (const w of [...(data?.app?.workloads ?? []), ...(data?.app?.canaries ?? [])])
    for (const pod of w.pods) pods[`${w.cluster}/${pod.name}`] = { cluster: w.cluster, pod };
  Object.assign(pods, changes);
  const list = Object.values(pods)
    .filter((p): p is { cluster: string; pod: Pod } => p != null)
    .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.pod.name.localeCompare(b.pod.name));
  const unreadable = (data?.app?.workloads ?? []).filter((w) => w.error);
  return (
    <Card title={`Pods (${list.length})`} className="pods-card">
      <ErrorList error={error} />
      {unreadable.map((w) => (
        <p key={w.cluster} className="callout callout-bad">
          {w.cluster}: {w.error}
        </p>
      ))}
      {list.length ? (
        <div className="pod-grid">
          {list.map(({ cluster, pod }) => (
            <div
              key={`${cluster}/${pod.name}`}
              className={`pod ${pod.ready ? 'pod-ready' : pod.reason ? 'pod-bad' : 'pod-wait'}`}
              data-testid="pod"
            >
              <div className="pod-name" title={pod.name}>
                {pod.name}
              </div>
              <div className="small">
                {cluster} · <strong>{pod.status}</strong>
                {pod.restarts > 0 && <> · {pod.restarts} restarts</>}
              </div>
              {pod.reason && <div className="small pod-reason">{pod.reason}</div>}
              {pod.image && <div className="small muted pod-image">{pod.image}</div>}
            </div>
          ))}
        </div>
      ) : (
        <p className="muted">No pods yet.</p>
      )}
    </Card>
  );
}
