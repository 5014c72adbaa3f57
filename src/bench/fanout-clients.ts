/**
 * The client side of the P3 fan-out bench (fanout.ts), run in a child process so the load
 * does not share the server's event loop. Opens `n` WebSockets to `url`, either as graphql-ws
 * subscribers of `platformEvents` (the protocol spoken by hand: connection_init with the
 * token, then one subscribe) or as plain sockets of the raw broadcast server; then counts
 * what arrives. Each frame carries `payload.i` (the publish index) and `payload.stamp` (epoch
 * ms at publish, `performance.timeOrigin + performance.now()`, comparable across processes on
 * one machine). Per socket: frames, id gaps (ids must be consecutive) and the sum of `i`
 * (must be the sum of 0..m-1). IPC messages (advanced serialization):
 *   parent → child: { cmd: 'open', url, n, mode, token, m }, then { cmd: 'progress' } (sockets
 *   complete so far), { cmd: 'report' } (the counts and latencies), { cmd: 'reset', m } (a new
 *   phase on the same sockets), { cmd: 'close' }
 *   child → parent: { ev: 'open', opened, failed }, { ev: 'progress', ... }, { ev: 'report', ... }
 */
import { WebSocket } from 'ws';

interface OpenCmd {
  cmd: 'open';
  url: string;
  n: number;
  mode: 'graphql-ws' | 'raw';
  token: string;
  /** Events the run publishes: a socket is complete at this many frames. */
  m: number;
}

const SUBSCRIBE = JSON.stringify({
  id: '1',
  type: 'subscribe',
  payload: { query: 'subscription { platformEvents { id type at actor app env payload } }' },
});

const now = () => performance.timeOrigin + performance.now();

let sockets: WebSocket[] = [];
let m = 0;
let frames = new Uint32Array(0);
let lastId = new Float64Array(0);
let sumI = new Float64Array(0);
let gaps = 0;
let errors = 0;
let latencies = new Float64Array(0);
let nLat = 0;
let firstRecv = 0;
let lastRecv = 0;
let complete = 0;

// Reads the fields without a full parse: `"id":"<digits>"` of the event, `"i":<n>` and `"stamp":<n>`.
const ID_RE = /"platformEvents":\{"id":"(\d+)"/;
const I_RE = /"i":(\d+)/;
const STAMP_RE = /"stamp":([\d.]+)/;

function onFrame(k: number, text: string): void {
  const t = now();
  const id = ID_RE.exec(text);
  const i = I_RE.exec(text);
  const stamp = STAMP_RE.exec(text);
  if (!id || !i || !stamp) {
    if (!text.includes('"connection_ack"')) errors++;
    return;
  }
  const seq = Number(id[1]);
  if (lastId[k] !== 0 && seq !== lastId[k] + 1) gaps++;
  lastId[k] = seq;
  sumI[k] += Number(i[1]);
  if (++frames[k] === m) complete++;
  if (nLat < latencies.length) latencies[nLat++] = t - Number(stamp[1]);
  if (!firstRecv) firstRecv = t;
  lastRecv = t;
}

function openOne(cmd: OpenCmd, k: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws =
      cmd.mode === 'graphql-ws'
        ? new WebSocket(cmd.url, 'graphql-transport-ws', { perMessageDeflate: false })
        : new WebSocket(cmd.url, { perMessageDeflate: false });
    sockets[k] = ws;
    let settled = false;
    const done = (ok: boolean) => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    const timer = setTimeout(() => done(false), 30_000);
    ws.on('error', () => {
      errors++;
      done(false);
    });
    ws.on('close', () => done(false));
    ws.on('open', () => {
      if (cmd.mode === 'raw') {
        clearTimeout(timer);
        done(true);
      } else
        ws.send(
          JSON.stringify({
            type: 'connection_init',
            payload: { authorization: `Bearer ${cmd.token}` },
          }),
        );
    });
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (!settled && text.includes('"connection_ack"')) {
        ws.send(SUBSCRIBE);
        clearTimeout(timer);
        done(true);
        return;
      }
      if (text.startsWith('{"type":"ping"')) {
        ws.send('{"type":"pong"}');
        return;
      }
      onFrame(k, text);
    });
  });
}

async function open(cmd: OpenCmd): Promise<void> {
  m = cmd.m;
  sockets = new Array<WebSocket>(cmd.n);
  frames = new Uint32Array(cmd.n);
  lastId = new Float64Array(cmd.n);
  sumI = new Float64Array(cmd.n);
  latencies = new Float64Array(cmd.n * cmd.m);
  let opened = 0;
  let failed = 0;
  const CONCURRENCY = 200;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cmd.n) {
        const k = next++;
        if (await openOne(cmd, k)) opened++;
        else failed++;
      }
    }),
  );
  process.send!({ ev: 'open', opened, failed });
}

function report(): void {
  const expectedSum = (m * (m - 1)) / 2;
  let frameTotal = 0;
  let wrongSum = 0;
  for (let k = 0; k < frames.length; k++) {
    frameTotal += frames[k];
    if (frames[k] === m && sumI[k] !== expectedSum) wrongSum++;
  }
  process.send!({
    ev: 'report',
    sockets: frames.length,
    complete,
    frames: frameTotal,
    gaps,
    wrongSum,
    errors,
    firstRecv,
    lastRecv,
    latencies: latencies.subarray(0, nLat),
  });
}

process.on('message', (msg: { cmd: string } & Partial<OpenCmd>) => {
  if (msg.cmd === 'open') void open(msg as OpenCmd);
  else if (msg.cmd === 'reset') {
    // A second phase on the same sockets: new counts; ids must go on where they stopped.
    m = msg.m!;
    frames = new Uint32Array(frames.length);
    sumI = new Float64Array(frames.length);
    latencies = new Float64Array(frames.length * m);
    nLat = 0;
    complete = 0;
    firstRecv = lastRecv = 0;
    process.send!({ ev: 'reset' });
  } else if (msg.cmd === 'progress') process.send!({ ev: 'progress', complete, lastRecv });
  else if (msg.cmd === 'report') report();
  else if (msg.cmd === 'close') {
    for (const s of sockets) s?.terminate();
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
