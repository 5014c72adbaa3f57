/**
 * The app's live workloads on its page: per environment (tabs), one card per target cluster
 * with the Deployment's replica counts and a pod table, listed once and then kept live over
 * `podEvents`; the counts are read again (at most once a second) after pods change, and every
 * few seconds while a workload has not settled (the backstop for changes between the listing
 * and the subscription). Scale and
 * restart for those the API says may (`App.viewerCanOperate`); the commands still decide.
 * A CANARY release's canary Deployment (`App.canaries`) has a card of its own, with its pods
 * (live pod events bring them too: a canary pod is named `<app>-canary-…`).
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import {
  AppWorkloadsDocument,
  EnvironmentsDocument,
  PodEventsDocument,
  RestartAppDocument,
  ScaleAppDocument,
  type PodEventsSubscription,
  type WorkloadFieldsFragment,
} from '../gql/graphql';
import { ErrorList } from '../ErrorList';
import { Card, StatusBadge } from '../ui/common';
import { handler } from '../handler';

type Workload = WorkloadFieldsFragment;

/** How often an unsettled workload is read again (see EnvWorkloads). */
const SETTLE_POLL_MS = 4000;
type Pod = Workload['pods'][number];
type PodEvent = PodEventsSubscription['podEvents'];
/** cluster/pod → the pod's latest state from `podEvents` (null: deleted). */
type PodChanges = Record<string, { cluster: string; pod: PodEvent['pod'] } | null>;

/** Pure (urql calls it again on completion, and twice under StrictMode). */
function onPodEvent(prev: PodChanges | undefined, data: PodEventsSubscription): PodChanges {
  const e = data.podEvents;
  return {
    ...prev,
    [`${e.cluster}/${e.pod.name}`]:
      e.type === 'DELETED' ? null : { cluster: e.cluster, pod: e.pod },
  };
}

export function AppWorkloads({ app, canOperate }: { app: string; canOperate: boolean }) {
  const [{ data: envs, error }] = useQuery({ query: EnvironmentsDocument });
  const [env, setEnv] = useState('');
  const chosen = env || envs?.environments[0]?.name || '';
  return (
    <section aria-label="Workloads" className="workloads">
      <div className="page-head wrap">
        <h2 className="section">Workloads</h2>
        <div className="env-tabs" role="group" aria-label="Environment">
          {envs?.environments.map((e) => (
            <button
              key={e.name}
              type="button"
              className={e.name === chosen ? '' : 'secondary'}
              aria-pressed={e.name === chosen}
              onClick={() => setEnv(e.name)}
            >
              {e.name}
            </button>
          ))}
        </div>
      </div>
      <ErrorList error={error} />
      {/* A new environment starts over: its own listing and its own subscription. */}
      {chosen && <EnvWorkloads key={chosen} app={app} env={chosen} canOperate={canOperate} />}
    </section>
  );
}

function EnvWorkloads({ app, env, canOperate }: { app: string; env: string; canOperate: boolean }) {
  const [{ data, error, fetching }, refetch] = useQuery({
    query: AppWorkloadsDocument,
    variables: { app, env },
  });
  const [{ data: changes }] = useSubscription(
    { query: PodEventsDocument, variables: { app, env } },
    onPodEvent,
  );
  // Replica counts live on the Deployment, not on a pod: read them again after pods change,
  // at most once a second however many pods change.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    if (!changes || pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      refetch({ requestPolicy: 'network-only' });
    }, 1000);
  }, [changes, refetch]);
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  const workloads = data?.app?.workloads ?? [];
  // A target whose cluster could not be read is listed among the canaries with its error
  // (status MISSING): the app's own card already shows that error; no canary card for it.
  const canaries = (data?.app?.canaries ?? []).filter((w) => w.status !== 'MISSING');
  // A pod that changed after the listing but before the subscription was in place sends no
  // event: while a workload has not settled, read it again every few seconds as a backstop.
  const unsettled = [...workloads, ...canaries].some(
    (w) =>
      w.status === 'PROGRESSING' || w.readyReplicas !== w.replicas || w.pods.some((p) => !p.ready),
  );
  useEffect(() => {
    if (!unsettled) return;
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), SETTLE_POLL_MS);
    return () => clearInterval(timer);
  }, [unsettled, refetch]);
  const pods: Record<string, { cluster: string; pod: Pod | PodEvent['pod'] } | null> = {};
  for (const w of [...workloads, ...canaries])
    for (const pod of w.pods) pods[`${w.cluster}/${pod.name}`] = { cluster: w.cluster, pod };
  Object.assign(pods, changes);
  // The canary's pods are `<app>-canary-<hash>-…`; a ReplicaSet's hash never spells "canary"
  // (its alphabet has no vowels), so the app's own pods never start so.
  const canaryPrefix = `${app}-canary-`;
  const podsOf = (cluster: string, canary: boolean) =>
    Object.values(pods)
      .filter(
        (p): p is { cluster: string; pod: Pod } =>
          p != null && p.cluster === cluster && p.pod.name.startsWith(canaryPrefix) === canary,
      )
      .map((p) => p.pod)
      .sort((a, b) => a.name.localeCompare(b.name));
  // Scaling and restarting act on a running Deployment: nothing to offer (nor a made-up
  // "0 replicas") where the app is deployed to no cluster of the environment.
  const deployed = workloads.find((w) => w.status !== 'MISSING');
  return (
    <>
      <ErrorList error={error} />
      {canOperate && deployed && (
        <WorkloadActions
          app={app}
          env={env}
          current={deployed.replicas}
          onChanged={() => refetch({ requestPolicy: 'network-only' })}
        />
      )}
      {fetching && !data && <p className="muted">Loading…</p>}
      {data && !workloads.length && <p className="empty">{env} deploys to no cluster.</p>}
      {workloads.map((w) => (
        <WorkloadCard key={`${w.cluster}/${w.namespace}`} w={w} pods={podsOf(w.cluster, false)} />
      ))}
      {canaries.map((w) => (
        <WorkloadCard
          key={`canary ${w.cluster}/${w.namespace}`}
          w={w}
          pods={podsOf(w.cluster, true)}
          canary
        />
      ))}
    </>
  );
}

function WorkloadCard({ w, pods, canary }: { w: Workload; pods: Pod[]; canary?: boolean }) {
  return (
    <Card
      className="workload"
      title={
        <>
          {w.cluster} <span className="muted">/ {w.namespace}</span>
          {canary && (
            <>
              {' '}
              · canary <code className="small">{w.name}</code>
            </>
          )}{' '}
          <StatusBadge status={w.status} />
        </>
      }
    >
      <div data-testid={canary ? `canary-${w.cluster}` : `workload-${w.cluster}`}>
        {canary && (
          <p className="small muted">
            A CANARY release runs this beside the app until its rollout is verified or it fails.
          </p>
        )}
        {w.error && <p className="callout callout-bad">{w.error}</p>}
        {w.status !== 'MISSING' && (
          <>
            <dl className="counts">
              <div>
                <dt>desired</dt>
                <dd data-testid="desired">{w.replicas}</dd>
              </div>
              <div>
                <dt>updated</dt>
                <dd>{w.updatedReplicas}</dd>
              </div>
              <div>
                <dt>ready</dt>
                <dd data-testid="ready">{w.readyReplicas}</dd>
              </div>
              <div>
                <dt>available</dt>
                <dd>{w.availableReplicas}</dd>
              </div>
            </dl>
            <p className="small muted workload-image">
              {w.image && <code>{w.image}</code>}
              {w.revision != null && <> · revision {w.revision}</>}
              {w.hpa && (
                <>
                  {' '}
                  · autoscaled {w.hpa.minReplicas}–{w.hpa.maxReplicas}
                </>
              )}
            </p>
          </>
        )}
        {w.status === 'MISSING' && !w.error && <p className="muted">Not deployed here.</p>}
        {pods.length > 0 && (
          <div className="table-scroll">
            <table className="apps pods">
              <thead>
                <tr>
                  <th>Pod</th>
                  <th>Status</th>
                  <th>Ready</th>
                  <th>Restarts</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {pods.map((p) => (
                  <tr
                    key={p.name}
                    data-testid="pod-row"
                    className={p.ready ? 'pod-ready' : p.reason ? 'pod-bad' : 'pod-wait'}
                  >
                    <td>
                      <code>{p.name}</code>
                    </td>
                    <td>{p.status}</td>
                    <td>{p.ready ? 'yes' : 'no'}</td>
                    <td>{p.restarts}</td>
                    <td className={p.reason ? 'pod-reason' : 'muted'}>{p.reason ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </Card>
  );
}

/** Scale (every target of the environment) and rollout restart; the API answers per cluster. */
function WorkloadActions({
  app,
  env,
  current,
  onChanged,
}: {
  app: string;
  env: string;
  current: number;
  onChanged: () => void;
}) {
  const [replicas, setReplicas] = useState(String(current));
  const [scaleState, scale] = useMutation(ScaleAppDocument);
  const [restartState, restart] = useMutation(RestartAppDocument);
  const [done, setDone] = useState('');
  const busy = scaleState.fetching || restartState.fetching;
  // A cluster that refused is data in the answer, not an error of the call: show it.
  const failed = [
    ...(scaleState.data?.scaleApp ?? []),
    ...(restartState.data?.restartApp ?? []),
  ].filter((w) => w.error);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone('');
    const n = Number(replicas);
    const res = await scale({ app, env, replicas: Number.isInteger(n) ? n : -1 });
    if (res.data) {
      setDone(`Scaled to ${n} in ${env}.`);
      onChanged();
    }
  };
  const doRestart = async () => {
    setDone('');
    const res = await restart({ app, env });
    if (res.data) {
      setDone(`Restarting in ${env}.`);
      onChanged();
    }
  };
  return (
    <form
      className="card workload-actions"
      onSubmit={handler(submit)}
      aria-label={`Scale or restart in ${env}`}
    >
      <div className="row">
        <label>
          Replicas in {env}{' '}
          <input
            type="number"
            min={0}
            max={500}
            aria-label={`Replicas in ${env}`}
            value={replicas}
            onChange={(e) => setReplicas(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy || replicas.trim() === ''}>
          Scale
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={handler(doRestart)}>
          Restart
        </button>
        {done && (
          <span className="muted" role="status">
            {done}
          </span>
        )}
      </div>
      {failed.map((w) => (
        <p key={w.cluster} className="callout callout-bad">
          {w.cluster}: {w.error}
        </p>
      ))}
      <ErrorList error={scaleState.error ?? restartState.error} />
    </form>
  );
}
