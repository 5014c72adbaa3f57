/**
 * The chat-vendor burst of issue 13, as figures: 30 events at once to one route per vendor,
 * each route's receiver playing its vendor's limit (DingTalk 20 a window then 130101 and a
 * penalty, WeCom 20 then 45009, Feishu 5 a second then 11232, Slack 1 a second then 429 +
 * Retry-After), windows shortened so a run takes seconds. Reported per vendor: requests,
 * refusals, events delivered, DEAD deliveries, whether order held, when the last event landed.
 * Run alone: `node --import @swc-node/register/esm-register src/bench/notify-burst.ts`; also
 * part of `npm run bench`.
 */
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config.js';
import { startPhantom } from '../main.js';
import { PlatformEventType, recordEvent } from '../domain/events/event-recorder.js';

const TOKEN = 'bench-admin-token-0123456789';
/** DingTalk's and WeCom's minute, shortened. */
const MINUTE_MS = 6000;
const EVENTS = 30;

interface VendorPlay {
  channel: 'DINGTALK' | 'WECOM' | 'FEISHU' | 'SLACK';
  limit: number;
  windowMs: number;
  penaltyMs: number;
  refuse: () => { status: number; body: string; headers?: Record<string, string> };
}

const VENDORS: VendorPlay[] = [
  {
    channel: 'DINGTALK',
    limit: 20,
    windowMs: MINUTE_MS,
    penaltyMs: MINUTE_MS * 10,
    refuse: () => ({
      status: 200,
      body: JSON.stringify({
        errcode: 130101,
        errmsg: 'send too fast, exceed 20 times per minute',
      }),
    }),
  },
  {
    channel: 'WECOM',
    limit: 20,
    windowMs: MINUTE_MS,
    penaltyMs: 0,
    refuse: () => ({
      status: 200,
      body: JSON.stringify({ errcode: 45009, errmsg: 'api freq out of limit' }),
    }),
  },
  {
    channel: 'FEISHU',
    limit: 5,
    windowMs: 1000,
    penaltyMs: 0,
    refuse: () => ({
      status: 200,
      body: JSON.stringify({ code: 11232, msg: 'frequency limited psm' }),
    }),
  },
  {
    channel: 'SLACK',
    limit: 1,
    windowMs: 1000,
    penaltyMs: 0,
    refuse: () => ({ status: 429, body: 'rate_limited', headers: { 'retry-after': '2' } }),
  },
];

interface Played {
  url: string;
  arrivals: { at: number; refused: boolean; body: string }[];
  server: Server;
}

/** A receiver that accepts like the vendor and refuses past its limit (signatures are the tests' business). */
async function play(v: VendorPlay): Promise<Played> {
  const arrivals: Played['arrivals'] = [];
  let penaltyUntil = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const recent = arrivals.filter((a) => a.at > at - v.windowMs).length + 1;
      const refused = at < penaltyUntil || recent > v.limit;
      if (refused && v.penaltyMs && at >= penaltyUntil) penaltyUntil = at + v.penaltyMs;
      arrivals.push({ at, refused, body: Buffer.concat(chunks).toString('utf8') });
      if (refused) {
        const r = v.refuse();
        return res
          .writeHead(r.status, { 'content-type': 'application/json', ...r.headers })
          .end(r.body);
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          v.channel === 'SLACK'
            ? 'ok'
            : JSON.stringify(
                v.channel === 'FEISHU' ? { code: 0, msg: 'success' } : { errcode: 0, errmsg: 'ok' },
              ),
        );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook?access_token=bench&key=bench`, arrivals, server };
}

export interface NotifyBurstResult {
  ok: boolean;
}

/** Runs the burst and writes one line per vendor; ok when no vendor refused a request, nothing is DEAD and order held. */
export async function runNotifyBurst(
  log: (line: string) => void,
  waitMs = 20_000,
): Promise<NotifyBurstResult> {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-bench-notify-'));
  const played = await Promise.all(VENDORS.map(play));
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PHANTOM_ADMIN_TOKEN: TOKEN,
    PHANTOM_DATA_DIR: dir,
    PHANTOM_EMBEDDED_CLUSTERS: 'off',
    PHANTOM_WEBHOOK_ALLOW_PRIVATE: 'on',
    PHANTOM_NOTIFY_RATE_LIMITS: `DINGTALK=20/${MINUTE_MS}ms,WECOM=20/${MINUTE_MS}ms`,
    PHANTOM_NOTIFY_THROTTLE_WAIT_MS: String(MINUTE_MS),
  });
  const phantom = await startPhantom(config, { notifier: { pollMs: 100 } });
  const gql = async <T = unknown>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<T> => {
    const res = await fetch(phantom.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { errors?: unknown; data?: T };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data as T;
  };
  let ok = true;
  try {
    await gql(`mutation { createApp(input: { name: "burst", kind: GO }) { id } }`);
    for (const [i, v] of VENDORS.entries()) {
      await gql(
        `mutation($i: CreateNotificationRouteInput!) { createNotificationRoute(input: $i) { id } }`,
        {
          i: {
            name: `burst ${v.channel}`,
            app: 'burst',
            channel: v.channel,
            webhookUrl: played[i].url,
            eventTypes: ['RELEASE_SUCCEEDED'],
          },
        },
      );
    }
    const start = Date.now();
    const { orm, deps } = phantom.platform;
    await orm.em.fork().transactional((em) => {
      for (let n = 1; n <= EVENTS; n++)
        recordEvent(em, {
          type: PlatformEventType.RELEASE_SUCCEEDED,
          actor: 'bench',
          app: 'burst',
          env: 'prod',
          payload: { releaseId: n },
        });
    });
    deps.onEventsCommitted();
    await new Promise((r) => setTimeout(r, waitMs));
    const routes = await gql<{
      notificationRoutes: { edges: { node: { id: string; channel: string } }[] };
    }>(`{ notificationRoutes { edges { node { id channel } } } }`);
    for (const [i, v] of VENDORS.entries()) {
      const p = played[i];
      const route = routes.notificationRoutes.edges.find((e) => e.node.channel === v.channel)!.node
        .id;
      const ds = await gql<{
        notificationDeliveries: { edges: { node: { status: string; digestId: string | null } }[] };
      }>(
        `query($r: ID!) { notificationDeliveries(first: 100, filter: { route: $r }) { edges { node { status digestId } } } }`,
        { r: route },
      );
      const mine = ds.notificationDeliveries.edges.map((e) => e.node);
      const ids = p.arrivals
        .filter((a) => !a.refused)
        .flatMap((a) => [...a.body.matchAll(/releases\/(\d+)/g)].map((m) => Number(m[1])));
      const inOrder = ids.every((x, k) => k === 0 || x > ids[k - 1]);
      const refused = p.arrivals.filter((a) => a.refused).length;
      const dead = mine.filter((d) => d.status === 'DEAD').length;
      const delivered = new Set(ids).size;
      const accepted = p.arrivals.filter((a) => !a.refused);
      const last = accepted.length
        ? `${((accepted.at(-1)!.at - start) / 1000).toFixed(1)} s`
        : 'never';
      const good = refused === 0 && dead === 0 && inOrder && delivered === EVENTS;
      if (!good) ok = false;
      log(
        `${good ? 'ok  ' : 'BAD '} notify burst ${v.channel} (${v.limit}/${v.windowMs} ms): ${p.arrivals.length} requests, ${refused} refused, ${mine.filter((d) => d.digestId).length} events in digests, ${delivered}/${EVENTS} delivered, ${dead} DEAD, order ${inOrder ? 'kept' : 'BROKEN'}, last at ${last}\n`,
      );
    }
  } finally {
    await phantom.stop();
    for (const p of played) await new Promise<void>((r) => p.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
  return { ok };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runNotifyBurst((l) => process.stdout.write(l)).then(
    (r) => {
      process.exitCode = r.ok ? 0 : 1;
    },
    (e) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
