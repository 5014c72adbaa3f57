/**
 * `/admin`: the platform's settings for admins: environments and where they deploy,
 * maintenance windows, dependency rules and whitelist entries (list, create, delete), users
 * (list, create), and notification routes (webhook URLs masked, as the API returns them). Whether the viewer
 * is an admin is the API's answer (`Settings.viewerCanEdit`); anyone else is told the page
 * is for admins. Kept live by SETTINGS_CHANGED events (another admin's change shows here).
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import {
  AdminRoutesDocument,
  AdminSettingsDocument,
  AdminUsersDocument,
  CreateDependencyRuleDocument,
  CreateMaintenanceWindowDocument,
  CreateUserDocument,
  CreateWhitelistEntryDocument,
  DeleteDependencyRuleDocument,
  DeleteMaintenanceWindowDocument,
  DeleteWhitelistEntryDocument,
  SettingsEventsDocument,
  type AdminSettingsQuery,
  type MaintenanceWindowInput,
  type Weekday,
} from '../gql/graphql';
import { ErrorList } from '../ErrorList';
import { When } from '../ui/common';
import { handler } from '../handler';

type Settings = AdminSettingsQuery['settings'];
type Env = AdminSettingsQuery['environments'][number];

/** Every weekday in calendar order, checked against the schema. */
const DAY_ORDER = { MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6, SUN: 7 } satisfies Record<
  Weekday,
  number
>;
const DAYS = Object.keys(DAY_ORDER) as Weekday[];

/** `a, b ,c` → ['a', 'b', 'c']. */
const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** A `datetime-local` value (the reader's time zone) as an ISO instant; '' stays '' so the API names the missing field. */
const instant = (local: string): string => (local ? new Date(local).toISOString() : '');

export function AdminPage() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: AdminSettingsDocument });
  const [{ data: changes }] = useSubscription(
    { query: SettingsEventsDocument },
    (n: number = 0) => n + 1,
  );
  useEffect(() => {
    if (changes) refetch({ requestPolicy: 'network-only' });
  }, [changes, refetch]);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  return (
    <section className="admin">
      <div className="page-head">
        <h1>Admin</h1>
      </div>
      <ErrorList error={error} />
      {fetching && !data && <p className="muted">Loading…</p>}
      {data && !data.settings.viewerCanEdit && (
        <div className="callout callout-bad admins-only" role="note">
          <strong>Admins only.</strong> This page is for platform admins, signed in with an admin
          session or an ADMIN-scoped token. The rules that apply to releases are listed with each
          release's prechecks.
        </div>
      )}
      {data?.settings.viewerCanEdit && (
        <AdminSections settings={data.settings} environments={data.environments} reload={reload} />
      )}
    </section>
  );
}

function AdminSections({
  settings,
  environments,
  reload,
}: {
  settings: Settings;
  environments: Env[];
  reload: () => void;
}) {
  const ruleNames = [
    ...settings.maintenanceWindows.map((w) => w.name),
    ...settings.dependencyRules.map((r) => r.name),
  ];
  return (
    <>
      <h2 className="section">Environments ({environments.length})</h2>
      <div className="table-scroll">
        <table className="apps">
          <thead>
            <tr>
              <th>Name</th>
              <th>Approval</th>
              <th>Deploys to</th>
            </tr>
          </thead>
          <tbody>
            {environments.map((e) => (
              <tr key={e.id}>
                <td>{e.name}</td>
                <td>{e.requiresApproval ? 'required' : 'no'}</td>
                <td>{e.targets.map((t) => `${t.cluster}/${t.namespace}`).join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2 className="section">Maintenance windows ({settings.maintenanceWindows.length})</h2>
      <ItemList
        empty="No maintenance windows."
        items={settings.maintenanceWindows.map((w) => ({
          id: w.id,
          name: w.name,
          testId: 'window',
          body: (
            <>
              <strong>{w.name}</strong>{' '}
              {w.activeUntil && <span className="status status-failed">active</span>}
              <div className="small">
                {w.envs.join(', ')} · {w.apps.length ? w.apps.join(', ') : 'every app'} ·{' '}
                {w.weekly ? (
                  <>
                    {w.weekly.days.join(' ')} {w.weekly.startTime}–{w.weekly.endTime} ({w.timezone})
                  </>
                ) : (
                  <>
                    <When at={w.startsAt} /> – <When at={w.endsAt} />
                  </>
                )}
              </div>
              <div className="small muted">
                {w.reason} · by {w.createdBy}
              </div>
            </>
          ),
        }))}
        remove={DeleteMaintenanceWindowDocument}
        onChanged={reload}
      />
      <NewWindow environments={environments} onCreated={reload} />

      <h2 className="section">Dependency rules ({settings.dependencyRules.length})</h2>
      <ItemList
        empty="No dependency rules."
        items={settings.dependencyRules.map((r) => ({
          id: r.id,
          name: r.name,
          testId: 'rule',
          body: (
            <>
              <strong>{r.name}</strong> {r.name !== r.artifact && <code>{r.artifact}</code>}
              <div className="small">
                {r.minVersion && <>at least {r.minVersion}</>}
                {r.minVersion && r.bannedVersions.length > 0 && ' · '}
                {r.bannedVersions.length > 0 && <>never {r.bannedVersions.join(', ')}</>}
              </div>
              <div className="small muted">
                {r.message} · by {r.createdBy}
              </div>
            </>
          ),
        }))}
        remove={DeleteDependencyRuleDocument}
        onChanged={reload}
      />
      <NewRule onCreated={reload} />

      <h2 className="section">Whitelist ({settings.whitelist.length})</h2>
      <ItemList
        empty="No whitelist entries."
        items={settings.whitelist.map((e) => ({
          id: e.id,
          name: `${e.app} / ${e.rule}`,
          testId: 'whitelist-entry',
          body: (
            <>
              <strong>{e.app}</strong> exempt from <strong>{e.rule}</strong>{' '}
              {e.expired && <span className="status">expired</span>}
              <div className="small">
                until <When at={e.expiresAt} />
              </div>
              <div className="small muted">
                {e.reason} · by {e.createdBy}
              </div>
            </>
          ),
        }))}
        remove={DeleteWhitelistEntryDocument}
        onChanged={reload}
      />
      <NewWhitelistEntry ruleNames={ruleNames} onCreated={reload} />

      <Users />
      <Routes />
    </>
  );
}

type DeleteDocument =
  | typeof DeleteMaintenanceWindowDocument
  | typeof DeleteDependencyRuleDocument
  | typeof DeleteWhitelistEntryDocument;

/** Rows with a delete button that asks once more before it deletes. */
function ItemList({
  items,
  empty,
  remove,
  onChanged,
}: {
  items: { id: string; name: string; testId: string; body: ReactNode }[];
  empty: string;
  remove: DeleteDocument;
  onChanged: () => void;
}) {
  if (!items.length) return <p className="empty">{empty}</p>;
  return (
    <ul className="admin-list">
      {items.map((i) => (
        <li key={i.id} data-testid={i.testId}>
          <div className="admin-item">{i.body}</div>
          <DeleteButton id={i.id} name={i.name} remove={remove} onDeleted={onChanged} />
        </li>
      ))}
    </ul>
  );
}

function DeleteButton({
  id,
  name,
  remove,
  onDeleted,
}: {
  id: string;
  name: string;
  remove: DeleteDocument;
  onDeleted: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const [{ fetching, error }, run] = useMutation(remove as typeof DeleteMaintenanceWindowDocument);
  if (!asking) {
    return (
      <div className="admin-actions">
        <button
          type="button"
          className="secondary"
          aria-label={`Delete ${name}`}
          onClick={() => setAsking(true)}
        >
          Delete
        </button>
      </div>
    );
  }
  return (
    <div className="admin-actions">
      <span className="small">Delete “{name}”?</span>
      <button
        type="button"
        disabled={fetching}
        onClick={handler(async () => {
          const res = await run({ id });
          if (res.data) onDeleted();
        })}
      >
        Yes, delete
      </button>
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Keep
      </button>
      <ErrorList error={error} />
    </div>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="form-field">
      <span>{label}</span>
      {children}
    </label>
  );
}

function NewWindow({ environments, onCreated }: { environments: Env[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [reason, setReason] = useState('');
  const [envs, setEnvs] = useState<string[]>([]);
  const [apps, setApps] = useState('');
  const [kind, setKind] = useState<'once' | 'weekly'>('once');
  const [startsAt, setStartsAt] = useState('');
  const [endsAt, setEndsAt] = useState('');
  const [days, setDays] = useState<Weekday[]>([]);
  const [startTime, setStartTime] = useState('');
  const [endTime, setEndTime] = useState('');
  const [timezone, setTimezone] = useState(
    () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  );
  const [{ fetching, error }, create] = useMutation(CreateMaintenanceWindowDocument);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input: MaintenanceWindowInput = {
      name: name.trim(),
      reason: reason.trim(),
      envs,
      apps: list(apps),
    };
    if (kind === 'once')
      Object.assign(input, { startsAt: instant(startsAt), endsAt: instant(endsAt) });
    else Object.assign(input, { weekly: { days, startTime, endTime }, timezone: timezone.trim() });
    const res = await create({ input });
    if (res.data) {
      setName('');
      setReason('');
      setApps('');
      onCreated();
    }
  };
  const toggle = <T,>(xs: T[], x: T): T[] =>
    xs.includes(x) ? xs.filter((y) => y !== x) : [...xs, x];
  return (
    <form
      className="card admin-form"
      onSubmit={handler(submit)}
      aria-label="New maintenance window"
    >
      <h2>New maintenance window</h2>
      <div className="form-grid">
        <Field label="Name">
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="release-freeze"
          />
        </Field>
        <Field label="Reason">
          <input
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            placeholder="Why releases stop"
          />
        </Field>
        <Field label="Apps (empty: every app)">
          <input value={apps} onChange={(e) => setApps(e.target.value)} />
        </Field>
        <Field label="When">
          <select value={kind} onChange={(e) => setKind(e.target.value as 'once' | 'weekly')}>
            <option value="once">once (from – to)</option>
            <option value="weekly">every week</option>
          </select>
        </Field>
        {kind === 'once' ? (
          <>
            <Field label="Starts">
              <input
                type="datetime-local"
                value={startsAt}
                onChange={(e) => setStartsAt(e.target.value)}
              />
            </Field>
            <Field label="Ends">
              <input
                type="datetime-local"
                value={endsAt}
                onChange={(e) => setEndsAt(e.target.value)}
              />
            </Field>
          </>
        ) : (
          <>
            <Field label="From (HH:MM)">
              <input
                value={startTime}
                onChange={(e) => setStartTime(e.target.value)}
                placeholder="18:00"
              />
            </Field>
            <Field label="To (HH:MM)">
              <input
                value={endTime}
                onChange={(e) => setEndTime(e.target.value)}
                placeholder="23:00"
              />
            </Field>
            <Field label="Time zone">
              <input value={timezone} onChange={(e) => setTimezone(e.target.value)} />
            </Field>
          </>
        )}
      </div>
      <fieldset className="checks-row">
        <legend>Environments</legend>
        {environments.map((env) => (
          <label key={env.id}>
            <input
              type="checkbox"
              checked={envs.includes(env.name)}
              onChange={() => setEnvs(toggle(envs, env.name))}
            />{' '}
            {env.name}
          </label>
        ))}
      </fieldset>
      {kind === 'weekly' && (
        <fieldset className="checks-row">
          <legend>Days</legend>
          {DAYS.map((d) => (
            <label key={d}>
              <input
                type="checkbox"
                checked={days.includes(d)}
                onChange={() => setDays(toggle(days, d))}
              />{' '}
              {d}
            </label>
          ))}
        </fieldset>
      )}
      <ErrorList error={error} />
      <button type="submit" disabled={fetching}>
        Create window
      </button>
    </form>
  );
}

function NewRule({ onCreated }: { onCreated: () => void }) {
  const [artifact, setArtifact] = useState('');
  const [name, setName] = useState('');
  const [minVersion, setMinVersion] = useState('');
  const [banned, setBanned] = useState('');
  const [message, setMessage] = useState('');
  const [{ fetching, error }, create] = useMutation(CreateDependencyRuleDocument);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await create({
      input: {
        artifact: artifact.trim(),
        name: name.trim() || null,
        minVersion: minVersion.trim() || null,
        bannedVersions: list(banned),
        message: message.trim() || null,
      },
    });
    if (res.data) {
      setArtifact('');
      setName('');
      setMinVersion('');
      setBanned('');
      setMessage('');
      onCreated();
    }
  };
  return (
    <form className="card admin-form" onSubmit={handler(submit)} aria-label="New dependency rule">
      <h2>New dependency rule</h2>
      <div className="form-grid">
        <Field label="Artifact">
          <input
            value={artifact}
            onChange={(e) => setArtifact(e.target.value)}
            placeholder="log4j-core"
          />
        </Field>
        <Field label="Name (default: the artifact)">
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Minimum version">
          <input
            value={minVersion}
            onChange={(e) => setMinVersion(e.target.value)}
            placeholder="2.17.1"
          />
        </Field>
        <Field label="Banned versions (comma-separated)">
          <input value={banned} onChange={(e) => setBanned(e.target.value)} />
        </Field>
        <Field label="Message">
          <input
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            placeholder="Upgrade to 2.17.1 or later"
          />
        </Field>
      </div>
      <ErrorList error={error} />
      <button type="submit" disabled={fetching}>
        Create rule
      </button>
    </form>
  );
}

function NewWhitelistEntry({
  ruleNames,
  onCreated,
}: {
  ruleNames: string[];
  onCreated: () => void;
}) {
  const [app, setApp] = useState('');
  const [rule, setRule] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [reason, setReason] = useState('');
  const [{ fetching, error }, create] = useMutation(CreateWhitelistEntryDocument);
  const chosen = rule || ruleNames[0] || '';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await create({
      input: {
        app: app.trim(),
        rule: chosen,
        expiresAt: instant(expiresAt),
        reason: reason.trim(),
      },
    });
    if (res.data) {
      setApp('');
      setReason('');
      onCreated();
    }
  };
  return (
    <form className="card admin-form" onSubmit={handler(submit)} aria-label="New whitelist entry">
      <h2>New whitelist entry</h2>
      {ruleNames.length === 0 ? (
        <p className="muted">
          Create a maintenance window or a dependency rule first: an entry exempts an app from one
          of them.
        </p>
      ) : (
        <>
          <div className="form-grid">
            <Field label="App">
              <input value={app} onChange={(e) => setApp(e.target.value)} />
            </Field>
            <Field label="Rule">
              <select value={chosen} onChange={(e) => setRule(e.target.value)}>
                {ruleNames.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Until">
              <input
                type="datetime-local"
                value={expiresAt}
                onChange={(e) => setExpiresAt(e.target.value)}
              />
            </Field>
            <Field label="Reason">
              <input value={reason} onChange={(e) => setReason(e.target.value)} />
            </Field>
          </div>
          <ErrorList error={error} />
          <button type="submit" disabled={fetching}>
            Create entry
          </button>
        </>
      )}
    </form>
  );
}

function Users() {
  const [{ data, error }, refetch] = useQuery({
    query: AdminUsersDocument,
    variables: { after: null },
  });
  const users = data?.users.edges.map((e) => e.node) ?? [];
  return (
    <>
      <h2 className="section">
        Users ({users.length}
        {data?.users.pageInfo.hasNextPage ? '+' : ''})
      </h2>
      <ErrorList error={error} />
      <div className="table-scroll">
        <table className="apps">
          <thead>
            <tr>
              <th>Username</th>
              <th>Name</th>
              <th>Admin</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-testid="user">
                <td>{u.username}</td>
                <td>{u.displayName || <span className="muted">—</span>}</td>
                <td>{u.isAdmin ? <span className="badge">admin</span> : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <NewUser onCreated={() => refetch({ requestPolicy: 'network-only' })} />
    </>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [isAdmin, setIsAdmin] = useState(false);
  const [{ fetching, error }, create] = useMutation(CreateUserDocument);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await create({
      input: {
        username: username.trim(),
        displayName: displayName.trim() || null,
        password: password || null,
        isAdmin,
      },
    });
    if (res.data) {
      setUsername('');
      setDisplayName('');
      setPassword('');
      setIsAdmin(false);
      onCreated();
    }
  };
  return (
    <form className="card admin-form" onSubmit={handler(submit)} aria-label="New user">
      <h2>New user</h2>
      <div className="form-grid">
        <Field label="Username">
          <input
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoComplete="off"
          />
        </Field>
        <Field label="Display name">
          <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        </Field>
        <Field label="Password (empty: API tokens only)">
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
          />
        </Field>
      </div>
      <label className="checks-row">
        <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.target.checked)} />{' '}
        Platform admin
      </label>
      <ErrorList error={error} />
      <button type="submit" disabled={fetching}>
        Create user
      </button>
    </form>
  );
}

function Routes() {
  const [{ data, error }] = useQuery({ query: AdminRoutesDocument });
  const routes = data?.notificationRoutes.edges.map((e) => e.node) ?? [];
  return (
    <>
      <h2 className="section">Notification routes ({routes.length})</h2>
      <ErrorList error={error} />
      {data && !routes.length && <p className="empty">No notification routes.</p>}
      {routes.length > 0 && (
        <div className="table-scroll">
          <table className="apps">
            <thead>
              <tr>
                <th>Name</th>
                <th>Channel</th>
                <th>Scope</th>
                <th>Webhook</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {routes.map((r) => (
                <tr key={r.id} data-testid="route">
                  <td>{r.name}</td>
                  <td>{r.channel}</td>
                  <td>
                    {r.app ?? 'every app'}
                    {r.env ? ` · ${r.env}` : ''}
                    <div className="small muted">
                      {r.eventTypes.length ? r.eventTypes.join(', ') : 'all events'}
                    </div>
                  </td>
                  {/* Masked by the API (scheme and host only): the path carries the robot's credential. */}
                  <td>
                    <code>{r.webhookUrl}</code>
                    {r.hasSecret && <div className="small muted">signed</div>}
                  </td>
                  <td>
                    {!r.enabled ? (
                      'disabled'
                    ) : r.health.healthy ? (
                      'healthy'
                    ) : (
                      <span className="pod-reason">unhealthy</span>
                    )}
                    {r.health.lastPermanentError && (
                      <div className="small muted">{r.health.lastPermanentError}</div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
