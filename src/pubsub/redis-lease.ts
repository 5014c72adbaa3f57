import type { Redis } from 'ioredis';
import {
  type LeaderHandle,
  type LeaderOptions,
  type LeaseManager,
  runWhileLeader,
} from './lease.js';
import { assertNoClientPrefix } from './redis-connection.js';

// Compare-and-set in Lua: a GET then PEXPIRE from the client could extend a lease that
// expired and was taken by someone else between the two calls.
const ACQUIRE = `
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0`;
const RENEW = `
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0`;
const RELEASE = `
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) return 1 end
return 0`;

/** Options for {@link RedisLeaseManager}. */
export interface RedisLeaseManagerOptions {
  /** Command connection; shared, not closed by this class. */
  client: Redis;
  /** Prepended to lease keys (`<prefix>lease:<name>`). Default: `''`. */
  keyPrefix?: string;
}

/**
 * Leases as Redis keys holding the holder id with a PX expiry; every change is one Lua
 * script, so each is atomic. Expiry uses Redis's clock, not the replicas'.
 */
export class RedisLeaseManager implements LeaseManager {
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(opts: RedisLeaseManagerOptions) {
    assertNoClientPrefix(opts.client);
    this.client = opts.client;
    this.prefix = (opts.keyPrefix ?? '') + 'lease:';
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.client.eval(ACQUIRE, 1, this.prefix + name, holder, Math.ceil(ttlMs))) === 1;
  }

  async renew(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.client.eval(RENEW, 1, this.prefix + name, holder, Math.ceil(ttlMs))) === 1;
  }

  async release(name: string, holder: string): Promise<boolean> {
    return (await this.client.eval(RELEASE, 1, this.prefix + name, holder)) === 1;
  }

  async holderOf(name: string): Promise<string | null> {
    return this.client.get(this.prefix + name);
  }

  runWhileLeader(
    name: string,
    ttlMs: number,
    onAcquire: () => void | Promise<void>,
    onLose: () => void | Promise<void>,
    opts?: LeaderOptions,
  ): LeaderHandle {
    return runWhileLeader(this, name, ttlMs, onAcquire, onLose, opts);
  }
}
