/**
 * The pure parts of notifications: URL masking, route matching, message links, backoff,
 * and that a network error does not echo the webhook URL (it may hold a token).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { maskUrl } from '../../src/domain/notify/notification-route.validation.js';
import { routeMatches } from '../../src/domain/notify/notification-delivery.service.js';
import { eventLink, renderMessage } from '../../src/domain/notify/notification-message.js';
import { NotificationDispatcher } from '../../src/domain/notify/notification-dispatcher.js';
import { buildChannelRequest, webhookSignature } from '../../src/domain/notify/channel-request.js';
import { sendChannelRequest } from '../../src/domain/notify/notification-sender.js';
import { NotificationChannel } from '../../src/domain/notify/notification-channel.js';
import type { NotifiedEvent } from '../../src/domain/notify/notified-event.js';

const ev = (over: Partial<NotifiedEvent> = {}): NotifiedEvent => ({
  id: '7',
  type: 'RELEASE_FAILED',
  at: '2026-11-26T10:00:00.000Z',
  actor: 'alice',
  app: 'web',
  env: 'prod',
  payload: {},
  ...over,
});

describe('notification units', () => {
  it('masks the path and the query of every webhook URL, whatever the channel (scheme and host stay)', () => {
    expect(maskUrl('https://oapi.dingtalk.com/robot/send?access_token=abc')).toBe(
      'https://oapi.dingtalk.com/***?***',
    );
    expect(maskUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k&debug=1')).toBe(
      'https://qyapi.weixin.qq.com/***?***',
    );
    expect(maskUrl('https://hooks.slack.com/services/T0/B0/XYZ')).toBe(
      'https://hooks.slack.com/***',
    );
    expect(maskUrl('https://open.feishu.cn/open-apis/bot/v2/hook/fs-secret')).toBe(
      'https://open.feishu.cn/***',
    );
    expect(maskUrl('https://example.com:8443/hook/secret-path')).toBe(
      'https://example.com:8443/***',
    );
    expect(maskUrl('https://example.com/')).toBe('https://example.com');
    expect(maskUrl('not a url')).toBe('***');
  });

  it('matches routes by app, env and types; personal events only when listed', () => {
    const route = { app: 'web', env: null, eventTypes: [] as string[], enabled: true };
    expect(routeMatches(route, ev())).toBe(true);
    expect(routeMatches({ ...route, enabled: false }, ev())).toBe(false);
    expect(routeMatches(route, ev({ app: 'api' }))).toBe(false);
    expect(routeMatches({ ...route, env: 'dev' }, ev())).toBe(false);
    expect(routeMatches({ ...route, eventTypes: ['RELEASE_SUCCEEDED'] }, ev())).toBe(false);
    const global = { app: null, env: null, eventTypes: [] as string[], enabled: true };
    expect(routeMatches(global, ev({ app: 'api' }))).toBe(true);
    expect(routeMatches(global, ev({ type: 'TOKEN_CREATED', app: null, env: null }))).toBe(false);
    expect(
      routeMatches(
        { ...global, eventTypes: ['TOKEN_CREATED'] },
        ev({ type: 'TOKEN_CREATED', app: null, env: null }),
      ),
    ).toBe(true);
  });

  it('links to the release view, else the app page, else the console', () => {
    expect(eventLink(ev({ payload: { releaseId: 9 } }), 'https://p.example/')).toBe(
      'https://p.example/releases/9',
    );
    expect(eventLink(ev({ payload: { release: { id: 'r-1' } } }), 'https://p.example')).toBe(
      'https://p.example/releases/r-1',
    );
    expect(eventLink(ev(), 'https://p.example')).toBe('https://p.example/apps/web');
    expect(
      eventLink(
        ev({ type: 'BUILD_FAILED', payload: { buildId: 'QnVpbGQ6Nw', number: 7 } }),
        'https://p.example',
      ),
    ).toBe('https://p.example/builds/QnVpbGQ6Nw');
    expect(
      eventLink(
        ev({ type: 'RELEASE_CREATED', payload: { releaseId: 'r-2', buildId: 'QnVpbGQ6Nw' } }),
        'https://p.example',
      ),
    ).toBe('https://p.example/releases/r-2');
    const built = renderMessage(
      ev({
        type: 'BUILD_SUCCEEDED',
        payload: {
          buildId: 'QnVpbGQ6Nw',
          number: 7,
          ref: null,
          commit: '0123456789abcdef',
          image: 'registry.local/web:7-0123456',
        },
      }),
      'https://p.example',
    );
    expect(built.details).toEqual(
      expect.arrayContaining([
        'Build: #7',
        'Ref: default branch',
        'Commit: 0123456789ab',
        'Image: registry.local/web:7-0123456',
      ]),
    );
    expect(built.link).toBe('https://p.example/builds/QnVpbGQ6Nw');
    expect(eventLink(ev({ app: null }), 'https://p.example')).toBe('https://p.example');
    const m = renderMessage(
      ev({ payload: { releaseId: 9, reason: 'probe failed' } }),
      'https://p.example',
    );
    expect(m.text.split('\n')).toEqual([
      '[Phantom] Release failed: web → prod',
      'App: web',
      'Env: prod',
      'By: alice',
      'Status: FAILED',
      'Release: #9',
      'Reason: probe failed',
      'At: 2026-11-26T10:00:00.000Z',
      'https://p.example/releases/9',
    ]);
  });

  it('backs off exponentially up to the cap, with ±25 % jitter', () => {
    const d = new NotificationDispatcher({
      em: () => {
        throw new Error('unused');
      },
      publicUrl: () => '',
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
    });
    expect([1, 2, 3, 4, 5, 6].map((n) => d.backoffMs(n, 0.5))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect([1, 2, 3].map((n) => d.backoffMs(n, 0))).toEqual([75, 150, 300]);
    expect(d.backoffMs(2, 0.999)).toBe(250);
    expect(d.backoffMs(6, 0.999)).toBe(1000); // never past the cap
    // Deliveries that failed together come back spread out.
    expect(new Set(Array.from({ length: 20 }, () => d.backoffMs(3))).size).toBeGreaterThan(1);
  });

  it('signs the generic webhook over the exact body, timestamp inside it', () => {
    const req = buildChannelRequest(
      { channel: NotificationChannel.WEBHOOK, url: 'https://example.com/h', secret: 's' },
      { deliveryId: '1', event: ev(), message: renderMessage(ev(), 'https://p') },
      1_700_000_000_000,
    );
    expect(req.headers['X-Phantom-Timestamp']).toBe('1700000000');
    expect(JSON.parse(req.body).timestamp).toBe(1_700_000_000);
    expect(req.headers['X-Phantom-Signature']).toBe(webhookSignature('s', req.body));
  });

  it('reports a network error without the URL', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as AddressInfo;
    await new Promise<void>((r) => srv.close(() => r()));
    const url = `http://127.0.0.1:${port}/robot/send?access_token=very-secret-token`;
    const err = await sendChannelRequest(
      NotificationChannel.DINGTALK,
      { url, headers: {}, body: '{}' },
      2000,
      { allowPrivate: true },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect((err as Error).message).not.toContain('very-secret-token');
  });
});
