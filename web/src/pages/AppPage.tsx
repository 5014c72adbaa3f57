/**
 * `/apps/:name`: one app as the API returns it: kind, container spec, release config, members;
 * per environment its live workloads (AppWorkloads.tsx: pods over `podEvents`, scale and
 * restart for those the API says may, `viewerCanOperate`); "Edit app" (`viewerCanEdit`,
 * AppEdit.tsx); "start a release" (env + image, `viewerCanRelease`); recent releases, live.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  AppDocument,
  CreateReleaseDocument,
  EnvironmentsDocument,
  type AppQuery,
} from '../gql/graphql';
import { Link, buildPath, navigate, releasePath } from '../router';
import { StatusBadge, When } from '../ui/common';
import { APP_BUILDS, TRIGGER_BUILD } from './build-docs';
import { ErrorList } from '../ErrorList';
import { ReleaseList } from './ReleasesPage';
import { AppWorkloads } from './AppWorkloads';
import { AppEdit } from './AppEdit';
import { handler } from '../handler';

type App = NonNullable<AppQuery['app']>;

export function AppPage({ name }: { name: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({
    query: AppDocument,
    variables: { name },
  });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const app = data?.app;
  return (
    <section>
      <p className="crumbs">
        <Link href="/">Apps</Link> / {name}
      </p>
      <ErrorList error={error} />
      {fetching && !data && <p className="muted">Loading…</p>}
      {data && !app && <p className="empty">No app named “{name}”.</p>}
      {app && <AppDetails app={app} reload={reload} />}
    </section>
  );
}

function AppDetails({ app, reload }: { app: App; reload: () => void }) {
  const c = app.container;
  const r = app.releaseConfig;
  return (
    <>
      <div className="page-head">
        <h1>{app.name}</h1>
        <span className="badge">{app.kind}</span>
        <span className="muted">version {app.version}</span>
      </div>
      {/* Offered to whom the API says may edit; updateApp still decides. */}
      {app.viewerCanEdit && <AppEdit app={app} onSaved={reload} onReload={reload} />}
      {app.description && <p>{app.description}</p>}
      <div className="cards">
        <Card title="Container">
          <Fields
            rows={[
              [
                'Replicas',
                c.hpa
                  ? `${c.hpa.minReplicas}–${c.hpa.maxReplicas} (autoscaled at ${c.hpa.targetCpuUtilization}% CPU)`
                  : c.replicas,
              ],
              ['CPU', c.cpu],
              ['Memory', c.memory],
              ['Port', c.port],
              ['Health check', <code key="h">{c.healthCheckPath}</code>],
            ]}
          />
        </Card>
        <Card title="Release">
          <Fields
            rows={[
              ['Strategy', r.strategy],
              ['Auto rollback', r.autoRollback ? 'yes' : 'no'],
              ['Auto release to', r.autoReleaseEnvs.length ? r.autoReleaseEnvs.join(', ') : 'none'],
            ]}
          />
        </Card>
        <Card title="Source and commands">
          <Fields
            rows={[
              ['Repository', app.repository || '—'],
              ['Build', app.buildCommand ? <code key="b">{app.buildCommand}</code> : '—'],
              ['Start', app.startCommand ? <code key="s">{app.startCommand}</code> : '—'],
              ['Stop', app.stopCommand ? <code key="t">{app.stopCommand}</code> : '—'],
            ]}
          />
        </Card>
        <Card title={`Members (${app.members.length})`}>
          <table className="members">
            <tbody>
              {app.members.map((m) => (
                <tr key={m.user.id}>
                  <td>
                    {m.user.username}
                    {m.user.displayName && m.user.displayName !== m.user.username && (
                      <span className="muted"> · {m.user.displayName}</span>
                    )}
                  </td>
                  <td>
                    <span className="badge">{m.role}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      </div>
      {/* Offered to whom the API says may build; triggerBuild still decides (repository, build command). */}
      {app.viewerCanBuild && <TriggerBuild app={app.name} />}
      <h2 className="section">Recent builds</h2>
      <BuildList app={app.name} />
      {/* Offered to whom the API says may release; createRelease still decides. */}
      {app.viewerCanRelease && <StartRelease app={app.name} />}
      <AppWorkloads app={app.name} canOperate={app.viewerCanOperate} />
      <h2 className="section">Recent releases</h2>
      <ReleaseList filter={{ app: app.name }} hideApp />
      <p className="muted small">
        Created {new Date(app.createdAt).toLocaleString()} · updated{' '}
        {new Date(app.updatedAt).toLocaleString()}
      </p>
    </>
  );
}

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="card">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

function Fields({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="fields">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Starts a release and opens its page; the API decides who may (its error says why not). */
function StartRelease({ app }: { app: string }) {
  const [{ data: envs }] = useQuery({ query: EnvironmentsDocument });
  const [env, setEnv] = useState('');
  const [image, setImage] = useState('');
  const [{ fetching, error }, create] = useMutation(CreateReleaseDocument);
  const chosen = env || envs?.environments[0]?.name || '';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await create({ input: { app, env: chosen, image: image.trim() } });
    if (res.data) navigate(releasePath(res.data.createRelease.id));
  };
  return (
    <form className="card start-release" onSubmit={handler(submit)} aria-label="Start a release">
      <h2>Start a release</h2>
      <div className="row">
        <select aria-label="Environment" value={chosen} onChange={(e) => setEnv(e.target.value)}>
          {envs?.environments.map((x) => (
            <option key={x.name} value={x.name}>
              {x.name}
              {x.requiresApproval ? ' (needs approval)' : ''}
            </option>
          ))}
        </select>
        <input
          aria-label="Image"
          placeholder="registry.local/app:1.0.0"
          value={image}
          onChange={(e) => setImage(e.target.value)}
        />
        <button type="submit" disabled={fetching || !chosen || !image.trim()}>
          Start release
        </button>
      </div>
      <ErrorList error={error} />
    </form>
  );
}

/** Triggers a build (default branch unless a ref is given) and opens its page with the live log. */
function TriggerBuild({ app }: { app: string }) {
  const [ref, setRef] = useState('');
  const [{ fetching, error }, trigger] = useMutation(TRIGGER_BUILD);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await trigger({ app, ref: ref.trim() || null });
    if (res.data) navigate(buildPath(res.data.triggerBuild.id));
  };
  return (
    <form className="card start-release" onSubmit={handler(submit)} aria-label="Build">
      <h2>Build</h2>
      <div className="row">
        <input
          aria-label="Ref"
          placeholder="branch, tag or commit (default branch if empty)"
          value={ref}
          onChange={(e) => setRef(e.target.value)}
        />
        <button type="submit" disabled={fetching}>
          Build
        </button>
      </div>
      <ErrorList error={error} />
    </form>
  );
}

/** The app's latest builds, newest first. */
function BuildList({ app }: { app: string }) {
  const [{ data, error }] = useQuery({
    query: APP_BUILDS,
    variables: { name: app },
    requestPolicy: 'cache-and-network',
  });
  const builds = data?.app?.builds.edges.map((e) => e.node) ?? [];
  return (
    <>
      <ErrorList error={error} />
      {builds.length ? (
        <table className="members builds">
          <tbody>
            {builds.map((b) => (
              <tr key={b.id}>
                <td>
                  <Link href={buildPath(b.id)}>#{b.number}</Link>
                </td>
                <td>
                  <StatusBadge status={b.status} />
                </td>
                <td>{b.ref ?? <span className="muted">default branch</span>}</td>
                <td>
                  {b.image ? (
                    <code>{b.image}</code>
                  ) : b.commit ? (
                    <code>{b.commit.slice(0, 12)}</code>
                  ) : (
                    ''
                  )}
                </td>
                <td className="muted small">
                  {b.triggeredBy} · <When at={b.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No builds yet.</p>
      )}
    </>
  );
}
