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
import { isNonPublicAddress, mayReachAnyAddress, PRIVATE_ADDRESS_REFUSED, type WebhookPolicy } from './webhook-address.js';

export class SendError extends Error {
  override name = 'SendError';
  /** Retrying cannot help (the address is refused): the delivery ends DEAD at once. */
  readonly permanent: boolean;
  constructor(message: string, opts: { permanent?: boolean } = {}) {
    super(message);
    this.permanent = opts.permanent ?? false;
  }
}

/** A chat service's error message put into `lastError` is cut to this many characters. */
const ERROR_TEXT_MAX = 200;
/** Answers are read up to this size (chat services answer a few dozen bytes). */
const ANSWER_MAX_BYTES = 64 * 1024;

function clip(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > ERROR_TEXT_MAX ? `${flat.slice(0, ERROR_TEXT_MAX)}…` : flat;
}

const JSON_CODED = new Set([NotificationChannel.DINGTALK, NotificationChannel.WECOM, NotificationChannel.FEISHU]);

/** A chat service's error code and message from its JSON answer (`errcode`/`errmsg`, `code`/`msg`), else undefined. */
function serviceError(channel: NotificationChannel, text: string): { code: unknown; msg: string } | undefined {
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
  return channel === NotificationChannel.SLACK && /^[a-z_]{1,64}$/.test(text.trim()) ? text.trim() : undefined;
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

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that resolves, refuses non-public addresses (unless allowed) and returns the checked one. */
function guardedLookup(allowAny: boolean) {
  return (hostname: string, options: { all?: boolean }, cb: LookupCallback): void => {
    dnsLookup(hostname, { all: true }, (err, addrs) => {
      if (err) return cb(err, '');
      if (!addrs.length) return cb(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
      // Any non-public answer refuses the host: picking a public one among them would let the
      // next lookup (rebinding) pick differently.
      if (!allowAny && addrs.some((a) => isNonPublicAddress(a.address))) {
        return cb(Object.assign(new Error(PRIVATE_ADDRESS_REFUSED), { code: 'EPRIVATEADDRESS' }), '');
      }
      const first = addrs[0]!;
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
export async function sendChannelRequest(channel: NotificationChannel, req: ChannelRequest, timeoutMs: number, policy: WebhookPolicy = {}): Promise<void> {
  const url = new URL(req.url);
  const allowAny = mayReachAnyAddress(url, policy);
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !allowAny && isNonPublicAddress(literal)) throw new SendError(PRIVATE_ADDRESS_REFUSED, { permanent: true });
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const r = mod.request(url, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
      // The address check lives in the connection's lookup: what was checked is what is used.
      lookup: guardedLookup(allowAny) as never,
      // A fresh connection each time: a pooled one may predate a policy change.
      agent: false,
    });
    const timer = setTimeout(() => r.destroy(new SendError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    r.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err instanceof SendError) return reject(err);
      if (err.code === 'EPRIVATEADDRESS') return reject(new SendError(PRIVATE_ADDRESS_REFUSED, { permanent: true }));
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
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(new SendError(`request failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
    });
    r.end(req.body);
  });
  if (status < 200 || status >= 300) {
    // Redirects are not followed: the target would escape the address check.
    const own = serviceError(channel, text);
    const slack = slackError(channel, text);
    const detail = own ? `: error ${String(own.code)}${own.msg ? ` ${own.msg}` : ''}` : slack ? `: ${slack}` : '';
    throw new SendError(`HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${detail}`);
  }
  const refused = refusal(channel, text);
  if (refused) throw new SendError(refused);
}
