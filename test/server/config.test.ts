import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('settings from the environment', () => {
  it('has embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      databaseUrl: undefined,
      redisUrl: undefined,
      databaseReplicaUrls: [],
      dataDir: '.phantom',
      embeddedClusters: true,
      migrateOnStart: true,
    });
  });

  it('reads the production settings', () => {
    const c = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'mysql://u:p@db:3306/phantom',
      DATABASE_REPLICA_URLS: 'mysql://u:p@r1:3306/phantom, mysql://u:p@r2:3306/phantom',
      REDIS_URL: 'redis://cache:6379/0',
      PHANTOM_ADMIN_TOKEN: 'a-very-long-admin-token',
    });
    expect(c.port).toBe(8080);
    expect(c.databaseReplicaUrls).toEqual([
      'mysql://u:p@r1:3306/phantom',
      'mysql://u:p@r2:3306/phantom',
    ]);
    expect(c.redisUrl).toBe('redis://cache:6379/0');
  });

  it('bounds graphql-ws sockets by default and refuses a zero cap', () => {
    expect(loadConfig({})).toMatchObject({ wsMaxSocketsPerClient: 50, wsIdleTimeoutMs: 60_000 });
    expect(
      loadConfig({ PHANTOM_WS_MAX_SOCKETS_PER_CLIENT: '5', PHANTOM_WS_IDLE_TIMEOUT_MS: '1000' }),
    ).toMatchObject({ wsMaxSocketsPerClient: 5, wsIdleTimeoutMs: 1000 });
    expect(() => loadConfig({ PHANTOM_WS_MAX_SOCKETS_PER_CLIENT: '0' })).toThrow(
      /PHANTOM_WS_MAX_SOCKETS_PER_CLIENT/,
    );
  });

  it('reads the Redis command timeout (default 1000 ms) and refuses a nonsense one', () => {
    expect(loadConfig({}).redisCommandTimeoutMs).toBe(1000);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '250' }).redisCommandTimeoutMs).toBe(250);
    expect(() => loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '0' })).toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: '' }).databaseUrl).toBeUndefined();
  });

  it('names every bad setting at once', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'postgres://x/y',
        REDIS_URL: 'localhost:6379',
        PHANTOM_ADMIN_TOKEN: 'short',
        DATABASE_REPLICA_URLS: 'nope',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const name of [
      'PORT',
      'DATABASE_URL',
      'REDIS_URL',
      'PHANTOM_ADMIN_TOKEN',
      'DATABASE_REPLICA_URLS',
    ])
      expect(problems).toContain(name);
    expect(problems).toMatch(/mysql:\/\/user:pass@host:port\/database/);
  });

  it('reads PHANTOM_TRUST_PROXY: off by default, a hop count, or addresses and ranges', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ PHANTOM_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ PHANTOM_TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
    expect(() => loadConfig({ PHANTOM_TRUST_PROXY: 'everyone' })).toThrow(/PHANTOM_TRUST_PROXY/);
  });

  it('takes a PHANTOM_REGISTRY whose build images pass the image precheck, and refuses one that does not', () => {
    expect(loadConfig({}).builds.registry).toBe('registry.local');
    expect(loadConfig({ PHANTOM_REGISTRY: 'localhost:5000/team' }).builds.registry).toBe(
      'localhost:5000/team',
    );
    for (const bad of ['registry.example.com/Team', 'registry.example.com/team/', 'reg istry'])
      expect(() => loadConfig({ PHANTOM_REGISTRY: bad })).toThrow(/PHANTOM_REGISTRY/);
  });
});
