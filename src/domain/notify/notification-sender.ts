/**
 * Sends one channel request and decides whether the receiver accepted it. Chat robots answer
 * HTTP 200 even when they refuse (bad signature, rate limit), with an error code in the
 * JSON body, so the body is checked too.
 *
 * Security: the address is checked against {@link WebhookPolicy} inside the connection's own
 * DNS lookup, so the checked address is the one connected to (no rebinding between check and
 * connect). Only the status code and a chat service's own error code/message are reported,
 * never the answer's body: a webhook may point anywhere, and its answer is not ours to show.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { NotificationChannel } from './notification-channel.js';
import type { ChannelRequest } from './channel-request.js';
import {
  isNonPublicAddress,
  mayReachAnyAddress,
  PRIVATE_ADDRESS_REFUSED,
  type WebhookPolicy,
} from './webhook-address.js';

export interface SendErrorDetails {
  /** Retrying cannot help (address refused, wrong secret, unknown token, 404/410): the delivery ends DEAD at once. */
  permanent?: boolean;
  /** The vendor refused for rate (429, DingTalk 130101, WeCom 45009, Feishu 11232): the route waits. */
  throttled?: boolean;
  /** How long the vendor asked to wait (`Retry-After`, Feishu's `x-ogw-ratelimit-reset`), when it said. */
  retryAfterMs?: number;
  httpStatus?: number;
  /** The vendor's own error code (`errcode`, `code`, Slack's word). */
  vendorCode?: string;
}

export class SendError extends Error {
  override name = 'SendError';
  readonly permanent: boolean;
  readonly throttled: boolean;
  readonly retryAfterMs?: number;
  readonly httpStatus?: number;
  readonly vendorCode?: string;
  constructor(message: string, opts: SendErrorDetails = {}) {
    super(message);
    this.permanent = opts.permanent ?? false;
    this.throttled = opts.throttled ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.httpStatus = opts.httpStatus;
    this.vendorCode = opts.vendorCode;
  }
}

/**
 * Vendor codes that mean "too fast": the robot refuses for a while (DingTalk: 20 a minute, then
 * 10 minutes of refusals; WeCom: 20 a minute; Feishu custom bots: 5 a second, 100 a minute).
 */
const THROTTLE_CODES: Record<string, Set<string>> = {
  DINGTALK: new Set(['130101']),
  WECOM: new Set(['45009']),
  FEISHU: new Set(['11232', '99991400']),
};

/**
 * Vendor codes that retrying cannot fix, with what to do about them. Each says which of the
 * route's settings is wrong, so whoever reads the dead letter knows what to change.
 */
const PERMANENT_CODES: Record<string, Record<string, string>> = {
  DINGTALK: {
    // 310000 covers the robot's security settings: signature, keywords, IP allow-list.
    '310000': "fix the route's signing secret (or the robot's keyword / IP settings in DingTalk)",
    '300001': "the robot's access_token is unknown: update the route's webhook URL",
    '300005': "the robot's access_token is unknown: update the route's webhook URL",
    '400101': "the robot's access_token is unknown: update the route's webhook URL",
    '400102': 'the robot is switched off in DingTalk: switch it on or update the route',
  },
  FEISHU: {
    '19021': "fix the route's signing secret (and check this server's clock)",
    '19022': "Phantom's address is not in the bot's IP allow-list in Feishu",
    '19024': "the message lacks the bot's required keyword: change the bot's keywords in Feishu",
    '19001': "the bot's hook token is unknown: update the route's webhook URL",
  },
  WECOM: {
    '93000': "the robot's key is unknown: update the route's webhook URL",
    '93004': "the robot's key is unknown: update the route's webhook URL",
  },
};
const GONE_HINT = "the webhook no longer exists: update the route's webhook URL";
const SLACK_PERMANENT: Record<string, string> = {
  no_service: GONE_HINT,
  no_team: GONE_HINT,
  channel_not_found: GONE_HINT,
  channel_is_archived: 'the Slack channel is archived: unarchive it or update the route',
  invalid_token: GONE_HINT,
  action_prohibited: "the Slack workspace's admin prohibits this webhook",
  posting_to_general_channel_denied: 'only admins may post to that Slack channel',
};

/** `Retry-After` (seconds or an HTTP date) or Feishu's `x-ogw-ratelimit-reset` (seconds), in ms; undefined when absent or unreadable. */
export function retryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  nowMs = Date.now(),
): number | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim();
  const raw = one(headers['retry-after']) ?? one(headers['x-ogw-ratelimit-reset']);
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A chat service's error message put into `lastError` is cut to this many characters. */
const ERROR_TEXT_MAX = 200;
/** Answers are read up to this size (chat services answer a few dozen bytes). */
const ANSWER_MAX_BYTES = 64 * 1024;

function clip(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > ERROR_TEXT_MAX ? `${flat.slice(0, ERROR_TEXT_MAX)}…` : flat;
}

const JSON_CODED = new Set([
  NotificationChannel.DINGTALK,
  NotificationChannel.WECOM,
  NotificationChannel.FEISHU,
]);

/** A chat service's error code and message from its JSON answer (`errcode`/`errmsg`, `code`/`msg`), else undefined. */
function serviceError(
  channel: NotificationChannel,
  text: string,
): { code: unknown; msg: string } | undefined {
  if (!JSON_CODED.has(channel)) return undefined;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!body || typeof body !== 'object') return undefined;
  // DingTalk and WeCom: {"errcode":0,"errmsg":"ok"}; Feishu: {"code":0,"msg":"success"} (older: StatusCode).
  const code = body.errcode ?? body.code ?? body.StatusCode;
  if (typeof code !== 'number' && typeof code !== 'string') return undefined;
  const msg = body.errmsg ?? body.msg ?? body.StatusMessage;
  return { code, msg: typeof msg === 'string' ? clip(msg) : '' };
}

/** Slack answers errors as a bare lower-case code (`invalid_payload`, `no_service`). */
function slackError(channel: NotificationChannel, text: string): string | undefined {
  return channel === NotificationChannel.SLACK && /^[a-z_]{1,64}$/.test(text.trim())
    ? text.trim()
    : undefined;
}

/** The receiver's refusal in a 2xx answer, or undefined when it accepted. */
function refusal(channel: NotificationChannel, text: string): string | undefined {
  if (!JSON_CODED.has(channel)) return undefined;
  const err = serviceError(channel, text);
  if (!err) {
    // Not the service's JSON: its body is not shown (it could be anything).
    try {
      JSON.parse(text);
      return undefined;
    } catch {
      return 'unexpected answer (not JSON)';
    }
  }
  if (err.code === 0 || err.code === '0') return undefined;
  return `error ${String(err.code)}${err.msg ? `: ${err.msg}` : ''}`;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for http.request that resolves, refuses non-public addresses (unless allowed) and returns the checked one. */
function guardedLookup(allowAny: boolean) {
  return (hostname: string, options: { all?: boolean }, cb: LookupCallback): void => {
    dnsLookup(hostname, { all: true }, (err, addrs) => {
      if (err) return cb(err, '');
      if (!addrs.length)
        return cb(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
      // Any non-public answer refuses the host: picking a public one among them would let the
      // next lookup (rebinding) pick differently.
      if (!allowAny && addrs.some((a) => isNonPublicAddress(a.address))) {
        return cb(
          Object.assign(new Error(PRIVATE_ADDRESS_REFUSED), { code: 'EPRIVATEADDRESS' }),
          '',
        );
      }
      const first = addrs[0];
      if (options.all) cb(null, [first]);
      else cb(null, first.address, first.family);
    });
  };
}

/**
 * POSTs `req`; resolves when the receiver accepted it, throws {@link SendError} otherwise.
 * Error messages never contain the URL: it may carry a credential (`access_token`, `key`).
 * `policy` (default: public addresses only) says which addresses may be reached.
 */
export async function sendChannelRequest(
  channel: NotificationChannel,
  req: ChannelRequest,
  timeoutMs: number,
  policy: WebhookPolicy = {},
): Promise<{ httpStatus: number }> {
  const url = new URL(req.url);
  const allowAny = mayReachAnyAddress(url, policy);
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !allowAny && isNonPublicAddress(literal))
    throw new SendError(PRIVATE_ADDRESS_REFUSED, { permanent: true });
  const { status, text, headers } = await new Promise<{
    status: number;
    text: string;
    headers: http.IncomingHttpHeaders;
  }>((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const r = mod.request(url, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
      // The address check lives in the connection's lookup: what was checked is what is used.
      lookup: guardedLookup(allowAny),
      // A fresh connection each time: a pooled one may predate a policy change.
      agent: false,
    });
    const timer = setTimeout(
      () => r.destroy(new SendError(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    r.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err instanceof SendError) return reject(err);
      if (err.code === 'EPRIVATEADDRESS')
        return reject(new SendError(PRIVATE_ADDRESS_REFUSED, { permanent: true }));
      reject(new SendError(`request failed: ${err.code ?? err.message}`));
    });
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= ANSWER_MAX_BYTES) chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(
          new SendError(`request failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`),
        );
      });
    });
    r.end(req.body);
  });
  if (status < 200 || status >= 300) {
    // Redirects are not followed: the target would escape the address check.
    const own = serviceError(channel, text);
    const slack = slackError(channel, text);
    const detail = own
      ? `: error ${String(own.code)}${own.msg ? ` ${own.msg}` : ''}`
      : slack
        ? `: ${slack}`
        : '';
    const message = `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${detail}`;
    const vendorCode = own ? String(own.code) : slack;
    if (status === 429 || (vendorCode && THROTTLE_CODES[channel]?.has(vendorCode))) {
      throw new SendError(message, {
        throttled: true,
        retryAfterMs: retryAfterMs(headers),
        httpStatus: status,
        vendorCode,
      });
    }
    const hint =
      (vendorCode &&
        (PERMANENT_CODES[channel]?.[vendorCode] ??
          (channel === NotificationChannel.SLACK ? SLACK_PERMANENT[vendorCode] : undefined))) ??
      (status === 404 || status === 410 ? GONE_HINT : undefined);
    if (hint)
      throw new SendError(`${message} (${hint})`, {
        permanent: true,
        httpStatus: status,
        vendorCode,
      });
    throw new SendError(message, { httpStatus: status, vendorCode });
  }
  const refused = refusal(channel, text);
  if (refused) {
    const raw = serviceError(channel, text)?.code;
    const code = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : '';
    if (code && THROTTLE_CODES[channel]?.has(code))
      throw new SendError(refused, {
        throttled: true,
        retryAfterMs: retryAfterMs(headers),
        httpStatus: status,
        vendorCode: code,
      });
    const hint = code ? PERMANENT_CODES[channel]?.[code] : undefined;
    if (hint)
      throw new SendError(`${refused} (${hint})`, {
        permanent: true,
        httpStatus: status,
        vendorCode: code,
      });
    throw new SendError(refused, { httpStatus: status, vendorCode: code || undefined });
  }
  return { httpStatus: status };
}
