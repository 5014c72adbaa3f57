/**
 * Local stand-ins for the chat services: one node:http server per channel kind on
 * 127.0.0.1:0. Each verifies the signature the way the real service documents it (written
 * here from the docs, not by calling Phantom's signing code), answers like the service
 * (chat robots answer 200 with an error code when they refuse), and can fail the first N
 * requests with HTTP 500.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceiverKind = 'DINGTALK' | 'FEISHU' | 'WECOM' | 'SLACK' | 'WEBHOOK';

export interface ReceivedRequest {
  path: string;
  query: URLSearchParams;
  rawQuery: string;
  headers: IncomingMessage['headers'];
  rawBody: string;
  body: any;
  /** Did the signature (when the receiver has a secret) verify? */
  signatureValid: boolean;
  /** What the receiver answered. */
  status: number;
  /** When it arrived (ms since epoch). */
  at: number;
  /** The vendor's throttle refused it (130101, 45009, 11232, 429). */
  throttled: boolean;
}

/**
 * The vendor's documented rate limit, played with a shorter window for tests: more than
 * `limit` requests within `windowMs` are refused, as the vendor does (DingTalk: errcode 130101,
 * then every request is refused for `penaltyMs`; WeCom: 45009; Feishu: 11232; Slack: HTTP 429
 * with `Retry-After: retryAfterSec`).
 */
export interface VendorLimit {
  limit: number;
  windowMs: number;
  /** DingTalk's penalty after the limit is passed (10 minutes there). Default: 0. */
  penaltyMs?: number;
  /** Slack's `Retry-After` in seconds. Default: 1. */
  retryAfterSec?: number;
}

export interface Receiver {
  kind: ReceiverKind;
  /** The webhook URL to configure (with the credential in the query or path, as the real ones). */
  url: string;
  requests: ReceivedRequest[];
  /** Requests that were accepted (2xx and no error code). */
  accepted(): ReceivedRequest[];
  /** Fail the next `n` requests with HTTP 500. */
  failNext(n: number): void;
  close(): Promise<void>;
}

const eq = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** DingTalk: sign = urlEncode(base64(HmacSHA256(secret, timestamp + "\n" + secret))), timestamp in ms, within 1 h. */
function dingTalkValid(secret: string, q: URLSearchParams, rawQuery: string): boolean {
  const ts = q.get('timestamp');
  const sign = q.get('sign');
  if (!ts || !sign || Math.abs(Date.now() - Number(ts)) > 3600_000) return false;
  // The base64 must arrive percent-encoded: a raw "+" would decode to a space.
  if (/[?&]sign=[^&]*[+/=]/.test(`?${rawQuery}`)) return false;
  const expected = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
  return eq(sign, expected);
}

/** Feishu: sign = base64(HmacSHA256(key = timestamp + "\n" + secret, message = "")), timestamp in s, within 1 h. */
function feishuValid(secret: string, body: any): boolean {
  const ts = body?.timestamp;
  const sign = body?.sign;
  if (
    typeof ts !== 'string' ||
    typeof sign !== 'string' ||
    Math.abs(Date.now() / 1000 - Number(ts)) > 3600
  )
    return false;
  const expected = createHmac('sha256', `${ts}\n${secret}`).update('').digest('base64');
  return eq(sign, expected);
}

/** Phantom's generic webhook: X-Phantom-Signature = sha256=hex(HMAC(secret, raw body)); timestamp header = body.timestamp, recent. */
function webhookValid(
  secret: string,
  headers: IncomingMessage['headers'],
  rawBody: string,
  body: any,
): boolean {
  const sig = String(headers['x-phantom-signature'] ?? '');
  const ts = String(headers['x-phantom-timestamp'] ?? '');
  if (!ts || String(body?.timestamp) !== ts || Math.abs(Date.now() / 1000 - Number(ts)) > 300)
    return false;
  return eq(sig, `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
}

const PATHS: Record<ReceiverKind, string> = {
  DINGTALK: '/robot/send?access_token=dt-access-token-0001',
  FEISHU: '/open-apis/bot/v2/hook/fs-hook-token-0001',
  WECOM: '/cgi-bin/webhook/send?key=wecom-key-0001',
  SLACK: '/services/T000/B000/slack-path-token-0001',
  WEBHOOK: '/hooks/phantom?tenant=t1',
};

/** `delayMs`: answer each request this much later (a slow chat service). */
export async function startReceiver(
  kind: ReceiverKind,
  opts: { secret?: string; failFirst?: number; delayMs?: number; rateLimit?: VendorLimit } = {},
): Promise<Receiver> {
  let failing = opts.failFirst ?? 0;
  const requests: ReceivedRequest[] = [];
  let penaltyUntil = 0;
  /** Is a request arriving now over the vendor's limit? Counts every request, refused ones too (as the vendors do). */
  const overLimit = (now: number): boolean => {
    const lim = opts.rateLimit;
    if (!lim) return false;
    if (now < penaltyUntil) return true;
    const recent = requests.filter((r) => r.at > now - lim.windowMs).length; // includes this one
    if (recent <= lim.limit) return false;
    if (lim.penaltyMs) penaltyUntil = now + lim.penaltyMs;
    return true;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url ?? '/', 'http://x');
      let body: any = null;
      try {
        body = JSON.parse(rawBody);
      } catch {
        /* stays null */
      }
      const secret = opts.secret;
      let signatureValid = true;
      if (kind === 'DINGTALK' && secret)
        signatureValid = dingTalkValid(secret, u.searchParams, u.search.slice(1));
      if (kind === 'FEISHU' && secret) signatureValid = feishuValid(secret, body);
      if (kind === 'WEBHOOK')
        signatureValid = Boolean(secret) && webhookValid(secret!, req.headers, rawBody, body);
      const record: ReceivedRequest = {
        path: u.pathname,
        query: u.searchParams,
        rawQuery: u.search.slice(1),
        headers: req.headers,
        rawBody,
        body,
        signatureValid,
        status: 200,
        at: Date.now(),
        throttled: false,
      };
      requests.push(record);
      const send = (status: number, payload: string, headers: Record<string, string> = {}) => {
        record.status = status;
        const answer = () =>
          res
            .writeHead(status, {
              'content-type': payload.startsWith('{') ? 'application/json' : 'text/plain',
              ...headers,
            })
            .end(payload);
        if (opts.delayMs) setTimeout(answer, opts.delayMs);
        else answer();
      };
      if (failing > 0) {
        failing--;
        return send(500, 'upstream trouble');
      }
      if (overLimit(record.at)) {
        record.throttled = true;
        switch (kind) {
          case 'DINGTALK':
            return send(
              200,
              JSON.stringify({
                errcode: 130101,
                errmsg: 'send too fast, exceed 20 times per minute',
              }),
            );
          case 'WECOM':
            return send(200, JSON.stringify({ errcode: 45009, errmsg: 'api freq out of limit' }));
          case 'FEISHU':
            return send(200, JSON.stringify({ code: 11232, msg: 'frequency limited psm' }));
          default:
            return send(429, 'rate_limited', {
              'retry-after': String(opts.rateLimit?.retryAfterSec ?? 1),
            });
        }
      }
      switch (kind) {
        case 'DINGTALK':
          return send(
            200,
            JSON.stringify(
              signatureValid
                ? { errcode: 0, errmsg: 'ok' }
                : { errcode: 310000, errmsg: 'sign not match' },
            ),
          );
        case 'FEISHU':
          return send(
            200,
            JSON.stringify(
              signatureValid
                ? { code: 0, msg: 'success', data: {} }
                : {
                    code: 19021,
                    msg: 'sign match fail or timestamp is not within one hour from current time',
                  },
            ),
          );
        case 'WECOM':
          return send(
            200,
            JSON.stringify(
              u.searchParams.get('key')
                ? { errcode: 0, errmsg: 'ok' }
                : { errcode: 93000, errmsg: 'invalid webhook url' },
            ),
          );
        case 'SLACK':
          return typeof body?.text === 'string' ? send(200, 'ok') : send(400, 'invalid_payload');
        case 'WEBHOOK':
          return signatureValid ? send(204, '') : send(401, 'bad signature');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kind,
    url: `http://127.0.0.1:${port}${PATHS[kind]}`,
    requests,
    accepted: () => requests.filter((r) => r.status < 300 && r.signatureValid && !r.throttled),
    failNext: (n) => {
      failing = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
