/**
 * The HTTP request each channel expects, signed as its service documents it. Pure: the
 * clock is a parameter, so tests (and the receivers in test/notify) can check signatures.
 */
import { createHmac } from 'node:crypto';
import { NotificationChannel } from './notification-channel.js';
import type { NotificationMessage } from './notification-message.js';
import type { NotifiedEvent } from './notified-event.js';

export interface ChannelRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What a request is built from: the route's credentials and the rendered event. */
export interface ChannelTarget {
  channel: NotificationChannel;
  url: string;
  secret?: string | null;
}

export interface OutgoingNotification {
  /** The delivery's opaque API id (what `retryNotificationDelivery` takes); a digest's is its first delivery's. */
  deliveryId: string;
  event: NotifiedEvent;
  message: NotificationMessage;
  /** A digest's events, in order (`event` is the first); absent for a single event. */
  events?: NotifiedEvent[];
}

/** Header carrying `sha256=<hex HMAC-SHA256(secret, body)>` on generic webhooks. */
export const SIGNATURE_HEADER = 'X-Phantom-Signature';
/** Header carrying the send time (Unix seconds), also inside the signed body as `timestamp`. */
export const TIMESTAMP_HEADER = 'X-Phantom-Timestamp';

/**
 * DingTalk custom robot, "加签" mode: `sign = urlEncode(base64(HmacSHA256(key = secret,
 * data = timestamp + "\n" + secret)))`, timestamp in milliseconds, both as query parameters.
 * DingTalk refuses a timestamp more than an hour off.
 */
export function dingTalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/**
 * Feishu/Lark custom bot signature check: `sign = base64(HmacSHA256(key = timestamp + "\n" +
 * secret, data = ""))`, timestamp in seconds, both in the JSON body. (Note the key is the
 * string to sign and the message is empty: that is how Feishu's own samples compute it.)
 */
export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

/** Generic webhook signature: `sha256=` + hex HMAC-SHA256 of the exact body bytes. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

/** Builds the request for `n` through `target` at time `nowMs`. */
export function buildChannelRequest(
  target: ChannelTarget,
  n: OutgoingNotification,
  nowMs = Date.now(),
): ChannelRequest {
  const { message } = n;
  switch (target.channel) {
    case NotificationChannel.DINGTALK: {
      const url = new URL(target.url);
      if (target.secret) {
        url.searchParams.set('timestamp', String(nowMs));
        // URLSearchParams percent-encodes the base64 (+, /, =), as DingTalk's urlEncode step asks.
        url.searchParams.set('sign', dingTalkSign(target.secret, nowMs));
      }
      const body = {
        msgtype: 'markdown',
        markdown: { title: `[Phantom] ${message.title}`, text: message.markdown },
      };
      return { url: url.toString(), headers: JSON_HEADERS, body: JSON.stringify(body) };
    }
    case NotificationChannel.FEISHU: {
      const content = { msg_type: 'text', content: { text: message.text } };
      const ts = Math.floor(nowMs / 1000);
      const body = target.secret
        ? { timestamp: String(ts), sign: feishuSign(target.secret, ts), ...content }
        : content;
      return { url: target.url, headers: JSON_HEADERS, body: JSON.stringify(body) };
    }
    case NotificationChannel.WECOM: {
      const body = { msgtype: 'markdown', markdown: { content: message.markdown } };
      return { url: target.url, headers: JSON_HEADERS, body: JSON.stringify(body) };
    }
    case NotificationChannel.SLACK: {
      return {
        url: target.url,
        headers: JSON_HEADERS,
        body: JSON.stringify({ text: message.text }),
      };
    }
    case NotificationChannel.WEBHOOK: {
      if (!target.secret) throw new Error('a WEBHOOK route needs a secret');
      const ts = Math.floor(nowMs / 1000);
      // The timestamp is inside the signed body too: a receiver that checks it is recent and
      // equal to the header cannot be fed a replay with a fresh header.
      const body = JSON.stringify({
        deliveryId: n.deliveryId,
        timestamp: ts,
        text: message.text,
        link: message.link,
        event: n.event,
        ...(n.events ? { events: n.events } : {}),
      });
      return {
        url: target.url,
        headers: {
          ...JSON_HEADERS,
          [TIMESTAMP_HEADER]: String(ts),
          [SIGNATURE_HEADER]: webhookSignature(target.secret, body),
          'X-Phantom-Delivery': n.deliveryId,
          'X-Phantom-Event': n.event.type,
        },
        body,
      };
    }
    default:
      throw new Error(`unknown channel ${String(target.channel)}`);
  }
}
