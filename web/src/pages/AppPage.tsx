/**
 * `/apps/:name`: one app as the API returns it: kind, container spec, release config, members.
 */
import type { ReactNode } from 'react';
import { gql, useQuery } from 'urql';
import { Link } from '../router';
import { ErrorList } from '../ErrorList';

const APP = gql`
  query App($name: String!) {
    app(name: $name) {
      id
      name
      kind
      description
      repository
      buildCommand
      startCommand
      stopCommand
      version
      createdAt
      updatedAt
      container {
        replicas
        cpu
        memory
        port
        healthCheckPath
        hpa {
          minReplicas
          maxReplicas
          targetCpuUtilization
        }
      }
      releaseConfig {
        strategy
        autoRollback
        autoReleaseEnvs
      }
      members {
        role
        user {
          id
          username
          displayName
        }
      }
    }
  }
`;

interface App {
  name: string;
  kind: string;
  description: string;
  repository: string;
  buildCommand: string;
  startCommand: string;
  stopCommand: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  container: {
    replicas: number;
    cpu: string;
    memory: string;
    port: number;
    healthCheckPath: string;
    hpa: { minReplicas: number; maxReplicas: number; targetCpuUtilization: number } | null;
  };
  releaseConfig: { strategy: string; autoRollback: boolean; autoReleaseEnvs: string[] };
  members: { role: string; user: { id: string; username: string; displayName: string } }[];
}

export function AppPage({ name }: { name: string }) {
  const [{ data, fetching, error }] = useQuery({ query: APP, variables: { name } });
  const app = data?.app as App | null | undefined;
  return (
    <section>
      <p className="crumbs">
        <Link href="/">Apps</Link> / {name}
      </p>
      <ErrorList error={error} />
      {fetching && !data && <p className="muted">Loading…</p>}
      {data && !app && <p className="empty">No app named “{name}”.</p>}
      {app && <AppDetails app={app} />}
    </section>
  );
}

function AppDetails({ app }: { app: App }) {
  const c = app.container;
  const r = app.releaseConfig;
  return (
    <>
      <div className="page-head">
        <h1>{app.name}</h1>
        <span className="badge">{app.kind}</span>
        <span className="muted">version {app.version}</span>
      </div>
      {app.description && <p>{app.description}</p>}
      <div className="cards">
        <Card title="Container">
          <Fields
            rows={[
              ['Replicas', c.hpa ? `${c.hpa.minReplicas}–${c.hpa.maxReplicas} (autoscaled at ${c.hpa.targetCpuUtilization}% CPU)` : c.replicas],
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
                    {m.user.displayName && m.user.displayName !== m.user.username && <span className="muted"> · {m.user.displayName}</span>}
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
      <p className="muted small">
        Created {new Date(app.createdAt).toLocaleString()} · updated {new Date(app.updatedAt).toLocaleString()}
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
