/**
 * The raw baseline of the P3 fan-out bench (fanout.ts), in a child process: a plain `ws`
 * server that, on `{ cmd: 'publish', m, rate, firstId }`, broadcasts `m` frames at `rate` per
 * second to every connected socket: one `JSON.stringify` per event, the same bytes Phantom's
 * graphql-ws sends (a `next` message of the `platformEvents` selection), stamped the same way.
 * Replies `{ ev: 'listening', port }`, `{ ev: 'clients', count }` and `{ ev: 'published' }`.
 */
import { WebSocketServer } from 'ws';

const now = () => performance.timeOrigin + performance.now();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });

function frame(id: number, i: number): string {
  const event = {
    id: String(id),
    type: 'APP_UPDATED',
    at: new Date().toISOString(),
    actor: 'bench',
    app: 'bench-fanout',
    env: null,
    payload: { i, stamp: now() },
  };
  return JSON.stringify({ id: '1', type: 'next', payload: { data: { platformEvents: event } } });
}

async function publish(m: number, rate: number, firstId: number): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < m; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const bytes = frame(firstId + i, i);
    for (const ws of wss.clients) ws.send(bytes);
  }
  process.send!({ ev: 'published' });
}

wss.on('listening', () =>
  process.send!({ ev: 'listening', port: (wss.address() as { port: number }).port }),
);
process.on('message', (msg: { cmd: string; m?: number; rate?: number; firstId?: number }) => {
  if (msg.cmd === 'clients') process.send!({ ev: 'clients', count: wss.clients.size });
  else if (msg.cmd === 'publish') void publish(msg.m!, msg.rate!, msg.firstId!);
  else if (msg.cmd === 'drop') for (const ws of wss.clients) ws.terminate();
});
process.on('disconnect', () => process.exit(0));
