/**
 * Input checks for notification routes. Each failure is a BAD_USER_INPUT naming the field.
 */
import { isIP } from 'node:net';
import { isNonPublicAddress, mayReachAnyAddress, type WebhookPolicy } from './webhook-address.js';
import { badInput } from '../shared/errors.js';
import { PlatformEventType } from '../events/event-recorder.js';
import { NotificationChannel, SIGNED_CHANNELS } from './notification-channel.js';
import { charLength } from '../shared/text.js';

export const ROUTE_NAME_MAX = 100;
export const URL_MAX = 1000;
export const SECRET_MAX = 200;
const EVENT_TYPES = new Set<string>(Object.values(PlatformEventType));

export function validateRouteName(name: string | null | undefined): string {
  const n = (name ?? '').trim();
  if (n.length < 1 || charLength(n) > ROUTE_NAME_MAX)
    throw badInput('name', `name must be 1–${ROUTE_NAME_MAX} characters.`);
  return n;
}

export function validateChannel(channel: unknown): NotificationChannel {
  if (!Object.values(NotificationChannel).includes(channel as NotificationChannel))
    throw badInput('channel', 'Unknown channel.');
  return channel as NotificationChannel;
}

/**
 * A webhook URL: absolute, http or https, no credentials in the authority part. An IP literal
 * that is loopback/private/link-local is refused here already, unless `policy` allows it, so
 * the mistake shows at once; host names are checked when sending (DNS can change).
 */
export function validateWebhookUrl(
  url: string | null | undefined,
  policy: WebhookPolicy = {},
): string {
  const raw = (url ?? '').trim();
  if (!raw || raw.length > URL_MAX)
    throw badInput('webhookUrl', `webhookUrl must be 1–${URL_MAX} characters.`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badInput('webhookUrl', 'webhookUrl is not a valid absolute URL.');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw badInput('webhookUrl', 'webhookUrl must use http or https.');
  if (u.username || u.password)
    throw badInput('webhookUrl', 'webhookUrl must not contain a user name or password.');
  if (u.hash) throw badInput('webhookUrl', 'webhookUrl must not contain a #fragment.');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && isNonPublicAddress(host) && !mayReachAnyAddress(u, policy)) {
    throw badInput(
      'webhookUrl',
      'webhookUrl points at a loopback, private or link-local address; an admin can allow it with PHANTOM_WEBHOOK_ALLOW_PRIVATE or PHANTOM_WEBHOOK_ALLOWED_HOSTS.',
    );
  }
  return u.toString();
}

/** Event types to match; unknown ones are refused, duplicates dropped. */
export function validateEventTypes(types: string[] | null | undefined): string[] {
  const list = [...new Set(types ?? [])];
  if (list.length > 50) throw badInput('eventTypes', 'eventTypes may list at most 50 types.');
  for (const t of list)
    if (!EVENT_TYPES.has(t)) throw badInput('eventTypes', `Unknown event type "${t}".`);
  return list;
}

/** The secret for `channel`: required for WEBHOOK, refused where the service has no signing. */
export function validateSecret(
  channel: NotificationChannel,
  secret: string | null | undefined,
  field = 'secret',
): string | null {
  if (secret == null || secret === '') {
    if (channel === NotificationChannel.WEBHOOK)
      throw badInput(
        field,
        'A WEBHOOK route needs a secret: receivers verify X-Phantom-Signature with it.',
      );
    return null;
  }
  if (!SIGNED_CHANNELS.has(channel))
    throw badInput(
      field,
      `${channel} robots are not signed: leave the secret out (the URL is the credential).`,
    );
  if (secret.length > SECRET_MAX || /\s/.test(secret))
    throw badInput(field, `secret must be 1–${SECRET_MAX} characters without spaces.`);
  return secret;
}

/**
 * `url` as the API shows it: scheme and host only, the path and the query each replaced by
 * `***` when present. Where the robot's credential lives differs by channel (DingTalk's
 * `access_token` and WeCom's `key` in the query; Feishu's hook id, Slack's
 * `/services/T…/B…/secret` and many generic webhooks in the path), and a route's readers are
 * not all its editors: nobody gets the stored URL back in full, whatever the channel.
 */
export function maskUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '***';
  }
  const path = u.pathname && u.pathname !== '/' ? '/***' : '';
  const query = u.search ? '?***' : '';
  return `${u.protocol}//${u.host}${path}${query}`;
}
