/**
 * "Edit app" on the app page, for those the API says may (`App.viewerCanEdit`). The form
 * sends the version it was opened with as `expectedVersion`: if someone changed the app in
 * between, updateApp answers CONFLICT and the form says so in words, with the API's code in
 * the detail line, instead of overwriting their change.
 */
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { UpdateAppDocument, type AppQuery, type UpdateAppInput } from '../gql/graphql';
import { ErrorList } from '../ErrorList';
import { handler } from '../handler';

type App = NonNullable<AppQuery['app']>;

const CONFLICT_HEADLINE = 'This app changed since you opened it — reload to see the changes.';

/** The form's fields, as text inputs. */
interface Draft {
  description: string;
  repository: string;
  buildCommand: string;
  startCommand: string;
  stopCommand: string;
  replicas: string;
  cpu: string;
  memory: string;
  port: string;
  healthCheckPath: string;
}

function draftOf(app: App): Draft {
  const c = app.container;
  return {
    description: app.description,
    repository: app.repository,
    buildCommand: app.buildCommand,
    startCommand: app.startCommand,
    stopCommand: app.stopCommand,
    replicas: String(c.replicas),
    cpu: c.cpu,
    memory: c.memory,
    port: String(c.port),
    healthCheckPath: c.healthCheckPath,
  };
}

/** Only what changed is sent (omitted fields stay as they are, per UpdateAppInput). */
function changes(app: App, d: Draft): UpdateAppInput {
  const before = draftOf(app);
  const input: UpdateAppInput = {};
  for (const k of [
    'description',
    'repository',
    'buildCommand',
    'startCommand',
    'stopCommand',
  ] as const)
    if (d[k] !== before[k]) input[k] = d[k];
  const container: NonNullable<UpdateAppInput['container']> = {};
  // Text that is no integer would make GraphQL refuse the whole variables object with a raw
  // coercion message; -1 reaches the API, which answers BAD_USER_INPUT naming the field.
  const int = (s: string) => (/^\s*-?\d+\s*$/.test(s) ? Number(s) : -1);
  if (d.replicas !== before.replicas) container.replicas = int(d.replicas);
  if (d.port !== before.port) container.port = int(d.port);
  for (const k of ['cpu', 'memory', 'healthCheckPath'] as const)
    if (d[k] !== before[k]) container[k] = d[k];
  if (Object.keys(container).length) input.container = container;
  return input;
}

export function AppEdit({
  app,
  onSaved,
  onReload,
}: {
  app: App;
  onSaved: () => void;
  onReload: () => void;
}) {
  const [open, setOpen] = useState(false);
  if (!open) {
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)}>
        Edit app
      </button>
    );
  }
  // Keyed by version: reloading after a CONFLICT opens the form again on what is there now.
  return (
    <EditForm
      key={app.version}
      app={app}
      onClose={() => setOpen(false)}
      onSaved={() => {
        setOpen(false);
        onSaved();
      }}
      onReload={onReload}
    />
  );
}

function EditForm({
  app,
  onClose,
  onSaved,
  onReload,
}: {
  app: App;
  onClose: () => void;
  onSaved: () => void;
  onReload: () => void;
}) {
  const [draft, setDraft] = useState(() => draftOf(app));
  // The version this form was opened with, whatever the page shows meanwhile.
  const [version] = useState(app.version);
  const [{ fetching, error }, update] = useMutation(UpdateAppDocument);
  const conflict = error?.graphQLErrors.some((e) => e.extensions?.code === 'CONFLICT') ?? false;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await update({
      name: app.name,
      expectedVersion: version,
      input: changes(app, draft),
    });
    if (res.data) onSaved();
  };
  const field = (
    k: keyof Draft,
    label: string,
    props: { type?: string; placeholder?: string } = {},
  ) => (
    <label className="form-field">
      <span>{label}</span>
      <input
        aria-label={label}
        value={draft[k]}
        onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
        {...props}
      />
    </label>
  );
  return (
    <form className="card edit-app" onSubmit={handler(submit)} aria-label="Edit app">
      <h2>Edit {app.name}</h2>
      <div className="form-grid">
        {field('description', 'Description')}
        {field('repository', 'Repository', { placeholder: 'https://git.example.com/team/app' })}
        {field('buildCommand', 'Build command')}
        {field('startCommand', 'Start command')}
        {field('stopCommand', 'Stop command')}
        {field('replicas', 'Replicas', { type: 'number' })}
        {field('cpu', 'CPU', { placeholder: '100m' })}
        {field('memory', 'Memory', { placeholder: '128Mi' })}
        {field('port', 'Port', { type: 'number' })}
        {field('healthCheckPath', 'Health check path')}
      </div>
      <ErrorList error={error} headlines={{ CONFLICT: CONFLICT_HEADLINE }} />
      <div className="row">
        <button type="submit" disabled={fetching}>
          Save
        </button>
        {conflict && (
          <button type="button" className="secondary" onClick={onReload}>
            Reload
          </button>
        )}
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
        <span className="muted small">version {version}</span>
      </div>
    </form>
  );
}
