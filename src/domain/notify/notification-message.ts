/**
 * The readable text of a platform event in a chat group: what happened, to which app and
 * environment, who did it, the status, and a link to the release view (or the app page).
 */
import type { NotifiedEvent } from './notified-event.js';

export interface NotificationMessage {
  /** One line, e.g. "Release succeeded: web → prod". */
  title: string;
  /** "Label: value" lines under the title. */
  details: string[];
  /** The release view when the payload has a release id, else the app page, else the console. */
  link: string;
  /** Title, details and link as plain text (WeCom, Feishu text, Slack). */
  text: string;
  /** The same as Markdown (DingTalk, WeCom markdown). */
  markdown: string;
}

const TITLES: Record<string, string> = {
  APP_CREATED: 'App created',
  APP_UPDATED: 'App updated',
  APP_DELETED: 'App deleted',
  MEMBER_CHANGED: 'Member changed',
  BUILD_STARTED: 'Build started',
  BUILD_SUCCEEDED: 'Build succeeded',
  BUILD_FAILED: 'Build failed',
  RELEASE_CREATED: 'Release created',
  RELEASE_STARTED: 'Release started',
  RELEASE_SUCCEEDED: 'Release succeeded',
  RELEASE_FAILED: 'Release failed',
  RELEASE_ROLLED_BACK: 'Release rolled back',
  RELEASE_CANCELED: 'Release canceled',
  TICKET_CREATED: 'Approval requested',
  TICKET_APPROVED: 'Approval granted',
  TICKET_REJECTED: 'Approval rejected',
  TICKET_EXPIRED: 'Approval expired',
  TICKET_CANCELED: 'Approval canceled',
  WORKLOAD_RESTARTED: 'Workload restarted',
  WORKLOAD_SCALED: 'Workload scaled',
  WORKLOAD_DEPLOYED: 'Workload deployed',
  WORKLOAD_REMOVED: 'Workload removed',
  POD_DELETED: 'Pod deleted',
  SETTINGS_CHANGED: 'Settings changed',
  TOKEN_CREATED: 'API token created',
  TOKEN_REVOKED: 'API token revoked',
};

/** Status words the event type implies when the payload does not say (`RELEASE_FAILED` → FAILED). */
const STATUS_SUFFIXES = [
  'CREATED',
  'STARTED',
  'SUCCEEDED',
  'FAILED',
  'ROLLED_BACK',
  'CANCELED',
  'APPROVED',
  'REJECTED',
  'EXPIRED',
];

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string' && v.length > 0) return v.slice(0, 200);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function humanize(type: string): string {
  const words = type.toLowerCase().split('_').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The release id of a release-like payload (`releaseId`, or `release.id`). */
export function releaseIdOf(payload: Record<string, unknown>): string | undefined {
  const nested = payload.release;
  return (
    scalar(payload.releaseId) ??
    (nested && typeof nested === 'object'
      ? scalar((nested as Record<string, unknown>).id)
      : undefined)
  );
}

/** Link target for `e` under `publicUrl` (no trailing slash needed). */
export function eventLink(e: NotifiedEvent, publicUrl: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  const releaseId = releaseIdOf(e.payload);
  // The release view's URL is part of the web contract: /releases/<id>.
  if (releaseId) return `${base}/releases/${encodeURIComponent(releaseId)}`;
  // Build events link to the build: /builds/<id> (BUILD_STARTED, BUILD_SUCCEEDED, BUILD_FAILED).
  const buildId = scalar(e.payload.buildId);
  if (buildId) return `${base}/builds/${encodeURIComponent(buildId)}`;
  if (!e.app) return base;
  return `${base}/apps/${encodeURIComponent(e.app)}`;
}

/** Renders `e` for a chat message. */
export function renderMessage(e: NotifiedEvent, publicUrl: string): NotificationMessage {
  const what = TITLES[e.type] ?? humanize(e.type);
  const where = [e.app, e.env].filter(Boolean).join(' → ');
  const title = where ? `${what}: ${where}` : what;
  const status = scalar(e.payload.status) ?? STATUS_SUFFIXES.find((s) => e.type.endsWith(`_${s}`));
  const details: string[] = [];
  if (e.app) details.push(`App: ${e.app}`);
  if (e.env) details.push(`Env: ${e.env}`);
  details.push(`By: ${e.actor ?? 'Phantom'}`);
  if (status) details.push(`Status: ${status}`);
  if (e.type.startsWith('TICKET_')) {
    // Who asked for what: the people deciding read this in the chat group.
    const kind = scalar(e.payload.kind);
    if (kind)
      details.push(
        `Kind: ${kind === 'ACCESS_REQUEST' ? 'access request' : kind === 'RELEASE_APPROVAL' ? 'release approval' : kind}`,
      );
    const requester = scalar(e.payload.requester);
    if (requester) details.push(`Requester: ${requester}`);
    const role = scalar(e.payload.role);
    if (role) details.push(`Role: ${role}`);
  }
  const releaseId = releaseIdOf(e.payload);
  if (releaseId) details.push(`Release: #${releaseId}`);
  if (e.type.startsWith('BUILD_')) {
    const number = scalar(e.payload.number);
    if (number) details.push(`Build: #${number}`);
    const ref = scalar(e.payload.ref);
    details.push(`Ref: ${ref ?? 'default branch'}`);
    const commit = scalar(e.payload.commit);
    if (commit) details.push(`Commit: ${commit.slice(0, 12)}`);
  }
  const image = scalar(e.payload.image);
  if (image) details.push(`Image: ${image}`);
  const version = scalar(e.payload.version);
  if (version) details.push(`Version: ${version}`);
  const reason = scalar(e.payload.reason) ?? scalar(e.payload.error);
  if (reason) details.push(`Reason: ${reason}`);
  const comment = scalar(e.payload.comment);
  if (comment) details.push(`Comment: ${comment}`);
  details.push(`At: ${e.at}`);
  const link = eventLink(e, publicUrl);
  const text = [`[Phantom] ${title}`, ...details, link].join('\n');
  const markdown = [
    `#### [Phantom] ${title}`,
    '',
    ...details.map((d) => `- ${d}`),
    '',
    `[Open in Phantom](${link})`,
  ].join('\n');
  return { title, details, link, text, markdown };
}

/**
 * One message for several waiting events of one route (a digest): sent when the route has
 * more waiting than its vendor's rate allows, as DingTalk's guide asks ("merge them into a
 * summary"). Title: "7 events in web, api"; then counts by kind ("3 × Release succeeded,
 * 1 × Release failed"); then every event in order, one line each, with its link.
 */
export function renderDigest(events: NotifiedEvent[], publicUrl: string): NotificationMessage {
  const each = events.map((e) => renderMessage(e, publicUrl));
  const apps = [...new Set(events.map((e) => e.app).filter((a): a is string => Boolean(a)))];
  const title = `${events.length} events${apps.length ? ` in ${apps.slice(0, 5).join(', ')}${apps.length > 5 ? ', …' : ''}` : ''}`;
  const counts = new Map<string, number>();
  for (const e of events) {
    const what = TITLES[e.type] ?? humanize(e.type);
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const summary = [...counts].map(([what, n]) => `${n} × ${what}`).join(', ');
  const base = publicUrl.replace(/\/+$/, '');
  const link = apps.length === 1 ? `${base}/apps/${encodeURIComponent(apps[0])}` : base;
  const lineOf = (m: NotificationMessage, e: NotifiedEvent) => {
    const releaseId = releaseIdOf(e.payload);
    return `${m.title}${releaseId ? ` (release #${releaseId})` : ''}`;
  };
  const details = [summary, ...each.map((m, i) => `${lineOf(m, events[i])}: ${m.link}`)];
  const text = [
    `[Phantom] ${title}`,
    summary,
    ...each.map((m, i) => `- ${lineOf(m, events[i])} ${m.link}`),
  ].join('\n');
  const markdown = [
    `#### [Phantom] ${title}`,
    '',
    summary,
    '',
    ...each.map((m, i) => `- [${lineOf(m, events[i])}](${m.link})`),
  ].join('\n');
  return { title, details, link, text, markdown };
}
