/**
 * The chat vendors' documented rate limits, per channel, and the setting that overrides them
 * (PHANTOM_NOTIFY_RATE_LIMITS). Pure: config.ts reads it.
 *
 * - DingTalk custom robot: 20 messages a minute per robot; past that, errcode 130101 and
 *   10 minutes of refusals. Its guide suggests merging many messages into one summary.
 * - WeCom group robot: 20 messages a minute per robot (errcode 45009).
 * - Slack incoming webhook: about one message a second per channel, short bursts tolerated;
 *   HTTP 429 with `Retry-After`.
 * - Feishu/Lark custom bot: 5 a second and 100 a minute per bot (code 11232).
 * - Generic webhooks: unlimited unless configured (the receiver is the operator's own).
 */
import { NotificationChannel } from './notification-channel.js';

/** At most `limit` requests in any `periodMs`. */
export interface RateLimit {
  limit: number;
  periodMs: number;
}

/** Limits per channel; an empty list means unlimited. */
export type ChannelRateLimits = Record<NotificationChannel, RateLimit[]>;

export const DEFAULT_RATE_LIMITS: ChannelRateLimits = {
  [NotificationChannel.DINGTALK]: [{ limit: 20, periodMs: 60_000 }],
  [NotificationChannel.WECOM]: [{ limit: 20, periodMs: 60_000 }],
  [NotificationChannel.SLACK]: [{ limit: 1, periodMs: 1000 }],
  [NotificationChannel.FEISHU]: [
    { limit: 5, periodMs: 1000 },
    { limit: 100, periodMs: 60_000 },
  ],
  [NotificationChannel.WEBHOOK]: [],
};

/**
 * How long a throttled route waits when the vendor does not say (no `Retry-After`): DingTalk's
 * documented penalty is 10 minutes; the others' limits are per minute.
 */
export const DEFAULT_THROTTLE_WAIT_MS: Record<NotificationChannel, number> = {
  [NotificationChannel.DINGTALK]: 600_000,
  [NotificationChannel.WECOM]: 60_000,
  [NotificationChannel.SLACK]: 60_000,
  [NotificationChannel.FEISHU]: 60_000,
  [NotificationChannel.WEBHOOK]: 60_000,
};

/**
 * Parses `DINGTALK=20/60s,FEISHU=5/1s+100/60s,WEBHOOK=off` (periods in ms, s, m or h) into
 * limits for the channels named; throws with a readable message on a bad entry.
 */
export function parseRateLimits(spec: string): Partial<ChannelRateLimits> {
  const out: Partial<ChannelRateLimits> = {};
  for (const entry of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Z]+)=(.+)$/.exec(entry);
    const channel = m?.[1] as NotificationChannel | undefined;
    if (!m || !channel || !(channel in DEFAULT_RATE_LIMITS))
      throw new Error(
        `"${entry}": expected CHANNEL=limit/period (channels: ${Object.keys(DEFAULT_RATE_LIMITS).join(', ')})`,
      );
    if (m[2] === 'off') {
      out[channel] = [];
      continue;
    }
    out[channel] = m[2].split('+').map((part) => {
      const p = /^(\d+)\/(\d+)(ms|s|m|h)$/.exec(part.trim());
      if (!p || Number(p[1]) < 1 || Number(p[2]) < 1)
        throw new Error(`"${entry}": "${part}" is not limit/period, e.g. 20/60s`);
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3600_000 }[p[3] as 'ms' | 's' | 'm' | 'h'];
      return { limit: Number(p[1]), periodMs: Number(p[2]) * unit };
    });
  }
  return out;
}
