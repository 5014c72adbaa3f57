/**
 * graphql-ws sockets are bounded: a cap per client address (4429 beyond it) and an idle
 * timeout for sockets that hold no subscription (4408), with small settings here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  availableModes,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { RawWs } from '../support/raw-ws.js';

describe.each(availableModes)('graphql-ws socket bounds (%s)', (mode) => {
  describe('per-client cap', () => {
    let t: TestPhantom;
    beforeAll(async () => {
      t = await startTestPhantom(mode, { env: { PHANTOM_WS_MAX_SOCKETS_PER_CLIENT: '2' } });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('closes a socket over the cap with 4429 and keeps the others; a closed one frees its place', async () => {
      const a = await RawWs.open(t.wsUrl);
      const b = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
      expect(a.messages.map((m) => m.type)).toEqual(['connection_ack']);
      const c = await RawWs.open(t.wsUrl, { init: false });
      await c.until(() => c.closed !== undefined);
      expect(c.closed!.code).toBe(4429);
      expect(c.messages).toEqual([]);
      // The first two still work.
      b.subscribe('q', '{ viewer { username } }');
      await b.until(() => b.of('q').some((m) => m.type === 'complete'));
      expect(b.of('q')[0].payload.data.viewer.username).toBe('admin');
      expect(a.open).toBe(true);
      a.close();
      await a.until(() => a.closed !== undefined);
      const d = await RawWs.open(t.wsUrl);
      await d.until(() => d.messages.some((m) => m.type === 'connection_ack'));
      expect(d.open).toBe(true);
      b.close();
      d.close();
    });
  });

  describe('idle timeout', () => {
    let t: TestPhantom;
    beforeAll(async () => {
      t = await startTestPhantom(mode, { env: { PHANTOM_WS_IDLE_TIMEOUT_MS: '1000' } });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('closes an acknowledged anonymous socket that holds no subscription with 4408', async () => {
      const ws = await RawWs.open(t.wsUrl);
      expect(ws.messages.map((m) => m.type)).toEqual(['connection_ack']);
      await ws.until(() => ws.closed !== undefined);
      expect(ws.closed!.code).toBe(4408);
    });

    it('keeps a socket serving a subscription past the idle time, and closes it once the subscription ends', async () => {
      const ws = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
      ws.subscribe('live', 'subscription { platformEvents { id app } }');
      await new Promise((r) => setTimeout(r, 2500)); // two and a half idle periods
      expect(ws.closed).toBeUndefined();
      for (let i = 0; !ws.of('live').length; i++) {
        await t.gql(`mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`, {
          n: `idle-${i}`,
        });
        await ws.until(() => ws.of('live').length > 0, 1000).catch(() => undefined);
        if (i > 20) throw new Error('the live subscription received nothing');
      }
      expect(ws.of('live')[0].type).toBe('next');
      ws.send({ id: 'live', type: 'complete' });
      await ws.until(() => ws.closed !== undefined);
      expect(ws.closed!.code).toBe(4408);
    });
  });
});
