import type { Redis } from 'ioredis';
import type { Membership } from './membership.js';
import { assertNoClientPrefix } from './redis-connection.js';

// One sorted set per group, scored by expiry. Redis's clock (TIME) decides expiry so
// replicas with skewed clocks still agree on who is live.
const HEARTBEAT = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
redis.call('zadd', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('pexpire', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('zcard', KEYS[1])`;

/** Options for {@link RedisMembership}. */
export interface RedisMembershipOptions {
  /** Command connection; shared, not closed by this class. */
  client: Redis;
  /** Prepended to keys (`<prefix>members:<group>`). Default: `''`. */
  keyPrefix?: string;
}

/** {@link Membership} as a Redis sorted set of member → expiry time. */
export class RedisMembership implements Membership {
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(opts: RedisMembershipOptions) {
    assertNoClientPrefix(opts.client);
    this.client = opts.client;
    this.prefix = (opts.keyPrefix ?? '') + 'members:';
  }

  async heartbeat(group: string, member: string, ttlMs: number): Promise<number> {
    return Number(
      await this.client.eval(HEARTBEAT, 1, this.prefix + group, member, Math.ceil(ttlMs)),
    );
  }

  async leave(group: string, member: string): Promise<void> {
    await this.client.zrem(this.prefix + group, member);
  }
}
