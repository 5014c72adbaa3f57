/**
 * graphql-ws over `ws`, as graphql-ws's own `useServer` (`graphql-ws/use/ws`: same protocol
 * check, keep-alive pings, error handling and close codes; the protocol itself stays
 * graphql-ws's `makeServer`), with a send path built for fan-out (issue 9, P3):
 *
 * - **one serialization per event and selection**: a `next` whose payload is a shared
 *   execution result (ws-shared-execution.ts) goes through graphql-ws as a marker
 *   ({@link sharedNextPayload}) that serializes as `0` and remembers the shared result; the
 *   send below splices the result's JSON, serialized once, in place of that `0`. The frame is
 *   the very text graphql-ws would have sent (`{"id":…,"type":"next","payload":{…}}`), and
 *   the whole frame is kept per subscription id, so subscribers using the same id (most
 *   clients start at "1") share one Buffer, written as is by every socket;
 * - **one write per socket and tick**: the frames a socket is sent within one tick (a
 *   subscriber draining the events queued for it, or several subscriptions on one socket)
 *   leave together in one `writev` instead of one syscall per frame (see batchWrites);
 * - **no promise per frame** while the socket keeps up: graphql-ws awaits each send before
 *   the subscription's next message; the frame is queued on the socket (which keeps the order)
 *   and the send returns at once while less than {@link SEND_HIGH_WATER} bytes wait to be
 *   written; past that the send waits for the write, as graphql-ws's own, so a slow client
 *   holds its subscriptions back (their buffers, then replay from the table) instead of
 *   growing the process's memory.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import {
  CloseCode,
  DEPRECATED_GRAPHQL_WS_PROTOCOL,
  handleProtocols,
  makeServer,
  type ConnectionInitMessage,
  type ServerOptions,
} from 'graphql-ws';

/** What graphql-ws's `use/ws` puts in `ctx.extra`. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}
import type { ExecutionResult } from 'graphql';
import { connectionRequestId, withRequestId } from './request-id.js';

/** Bytes waiting on a socket below which a send does not wait for its write. */
export const SEND_HIGH_WATER = 256 * 1024;
/** Distinct subscription ids whose whole frame is kept per shared result (beyond: spliced per send). */
const FRAMES_PER_RESULT = 16;

/**
 * Serializations of shared results, frames built, sockets corked for a tick, and frames sent
 * by direct delivery (tests count them).
 */
export const sharedFrameStats = { serialized: 0, frames: 0, spliced: 0, corked: 0, direct: 0 };

interface SharedEntry {
  result: ExecutionResult;
  json?: string;
  frames?: Map<string, Buffer>;
  marker: { toJSON(): 0 };
}

const entries = new WeakMap<object, SharedEntry>();
/** The shared result whose marker JSON.stringify just wrote: graphql-ws sends the message right after. */
let pending: SharedEntry | null = null;
/** How graphql-ws's text of a `next` message with the marker payload ends. */
const MARKER_TAIL = ',"type":"next","payload":0}';

/**
 * The payload for graphql-ws's `onNext` to return for a result shared by many subscribers
 * (the same object for each): a marker, the same for all, that {@link useFanoutServer}'s send
 * replaces with the result's JSON, serialized once.
 */
export function sharedNextPayload(result: ExecutionResult): ExecutionResult {
  let entry = entries.get(result);
  if (!entry) {
    const e: SharedEntry = {
      result,
      marker: {
        toJSON() {
          pending = e;
          return 0;
        },
      },
    };
    entries.set(result, (entry = e));
  }
  return entry.marker as unknown as ExecutionResult;
}

function entryOf(result: ExecutionResult): SharedEntry {
  sharedNextPayload(result);
  return entries.get(result)!;
}

/** The bytes to send for graphql-ws's text `data` (the frame with the shared payload spliced in). */
function outgoing(data: string): string | Buffer {
  const entry = pending;
  if (entry === null) return data;
  pending = null;
  if (!data.endsWith(MARKER_TAIL) || !data.startsWith('{"id":')) return data;
  return frameOf(entry, data);
}

/** The frame for graphql-ws's text `data` of a `next` with the marker payload: `entry`'s JSON spliced in. */
function frameOf(entry: SharedEntry, data: string): string | Buffer {
  if (entry.json === undefined) {
    entry.json = JSON.stringify(entry.result);
    sharedFrameStats.serialized++;
  }
  const cached = entry.frames?.get(data);
  if (cached) return cached;
  const text = `${data.slice(0, -2)}${entry.json}}`;
  entry.frames ??= new Map();
  if (entry.frames.size >= FRAMES_PER_RESULT) {
    sharedFrameStats.spliced++;
    return text;
  }
  const frame = Buffer.from(text);
  entry.frames.set(data, frame);
  sharedFrameStats.frames++;
  return frame;
}

/**
 * The text graphql-ws sends for a `next` of subscription `id` whose payload is the marker
 * (its `stringifyMessage`): the key of the subscription's frames in {@link sendSharedNext}.
 */
export function nextFrameKey(id: string): string {
  return `{"id":${JSON.stringify(id)}${MARKER_TAIL}`;
}

/**
 * Sends the `next` frame of subscription `frameKey` ({@link nextFrameKey}) with the shared
 * `result` on `socket` at once, as graphql-ws would have after its `onNext` (the same bytes,
 * the same per-tick batching), for direct delivery (DIRECT_DELIVERY in src/pubsub/bus.ts).
 * False when it cannot be sent without waiting (the socket is not open, not ours, or has
 * {@link SEND_HIGH_WATER} bytes waiting): the caller then takes graphql-ws's path, which waits.
 */
export function sendSharedNext(
  socket: WebSocket,
  frameKey: string,
  result: ExecutionResult,
): boolean {
  const c = conns.get(socket);
  if (c === undefined || socket.readyState !== socket.OPEN) return false;
  if (socket.bufferedAmount >= SEND_HIGH_WATER) return false;
  const bytes = frameOf(entryOf(result), frameKey);
  batchWrites(c);
  socket.send(bytes, { binary: false });
  sharedFrameStats.direct++;
  return true;
}

/** Per connection: the tick of its last frame and whether its TCP socket is corked. */
interface Conn {
  socket: WebSocket;
  tcp: Duplex;
  tick: number;
  corked: boolean;
  /** Operations graphql-ws runs, by id (see {@link gateOperations}). */
  ops: Map<string, OpState>;
  /** How many of them the client has completed while they still run (their frames are dropped). */
  completing: number;
}

/** One operation graphql-ws runs under an id, as {@link gateOperations} tracks it. */
interface OpState {
  /** The client sent `complete` for it: nothing more of it is sent. */
  completed: boolean;
  /** Messages for its id received since a `subscribe` reused the id, held until it has ended. */
  held: { subscribe: boolean; text: string }[] | null;
}

const conns = new WeakMap<WebSocket, Conn>();

/** Ticks in which a frame was sent, counted; the current one ends with {@link endTick}. */
let tick = 0;
let tickOpen = false;
const corked: Conn[] = [];

function endTick(): void {
  tickOpen = false;
  tick++;
  const conns = corked.splice(0);
  for (const c of conns) {
    c.corked = false;
    c.tcp.uncork();
  }
}

/**
 * From a connection's second frame within one tick (its microtasks included) on, holds its
 * writes until the tick is over, so that the frames of the events a subscriber drains in one
 * go (or of several subscriptions on one socket) leave in one `writev` instead of one
 * syscall each; a lone frame is written at once, as before. The order is the socket's own.
 */
function batchWrites(c: Conn): void {
  if (!tickOpen) {
    tickOpen = true;
    process.nextTick(endTick);
  }
  if (c.tick !== tick) {
    c.tick = tick;
    return;
  }
  if (c.corked) return;
  c.corked = true;
  c.tcp.cork();
  corked.push(c);
  sharedFrameStats.corked++;
}

/** The operation id graphql-ws's text `data` of a `next` or `error` message is for, else null. */
function resultMessageId(data: string): string | null {
  const m = /^\{"id":("(?:[^"\\]|\\.)*"),"type":"(?:next|error)"/.exec(data);
  return m ? (JSON.parse(m[1]) as string) : null;
}

/** A text frame on `socket`: resolves at once while the socket keeps up, else after the write. */
function send(c: Conn, data: string): Promise<void> | undefined {
  const { socket } = c;
  if (socket.readyState !== socket.OPEN) return undefined;
  const bytes = outgoing(data);
  if (c.completing > 0) {
    // A result of an operation the client has completed (graphql-ws may still be handing over
    // one its iterator had under way, e.g. from a replay): the client is done with it.
    const id = resultMessageId(data);
    if (id !== null && c.ops.get(id)?.completed) return undefined;
  }
  batchWrites(c);
  if (socket.bufferedAmount < SEND_HIGH_WATER) {
    socket.send(bytes, { binary: false });
    return undefined;
  }
  return new Promise((resolve, reject) => {
    socket.send(bytes, { binary: false }, (err) => (err ? reject(err) : resolve()));
  });
}

/** Messages for one id held while its completed operation ends; past this the socket is closed (1008). */
const MAX_HELD_PER_ID = 100;

/**
 * Hands the client's messages to graphql-ws (`dispatch`, which resolves when graphql-ws is
 * done with the message: for a `subscribe`, when the operation has ended) so that an id the
 * client has completed can be reused at once. graphql-ws keys an operation by its id alone:
 * a `subscribe` that reused the id while the completed operation was still being set up or
 * still ending made both run under it (every event twice), or the old one's end removed the
 * new one (the id went dead), and the old one's `complete` or last result went out under the
 * id. Here a `subscribe` for an id whose operation the client has completed waits, with the
 * messages for that id after it, until that operation has ended; messages for other ids are
 * not held. A `subscribe` for an id whose operation is still active goes through at once
 * (graphql-ws closes the socket with 4409, as the protocol requires).
 */
function gateOperations(
  c: Conn,
  dispatch: (text: string) => Promise<void>,
): (text: string) => void {
  const start = (id: string, text: string): void => {
    const op: OpState = { completed: false, held: null };
    c.ops.set(id, op);
    void dispatch(text).finally(() => {
      if (op.completed) c.completing--;
      if (c.ops.get(id) === op) c.ops.delete(id);
      const held = op.held;
      // After the socket closed, graphql-ws has ended its operations: nothing may start again.
      if (held && c.socket.readyState === c.socket.OPEN) for (const h of held) handle(h.text);
    });
  };
  const handle = (text: string): void => {
    let message: { type?: unknown; id?: unknown } | null = null;
    try {
      message = JSON.parse(text) as { type?: unknown; id?: unknown } | null;
    } catch {
      // graphql-ws answers it (4400)
    }
    const type = message?.type;
    const id = message?.id;
    if ((type !== 'subscribe' && type !== 'complete') || typeof id !== 'string') {
      void dispatch(text);
      return;
    }
    const op = c.ops.get(id);
    if (op?.held) {
      // A held `subscribe` the client has completed already is owed nothing: both go, so a
      // client cycling subscribe/complete on one id faster than operations end holds at most one.
      if (type === 'complete' && op.held.at(-1)?.subscribe) {
        op.held.pop();
        return;
      }
      if (op.held.length >= MAX_HELD_PER_ID) {
        c.socket.close(1008, 'Too many messages for one operation id while its operation ends');
        return;
      }
      op.held.push({ subscribe: type === 'subscribe', text });
      return;
    }
    if (type === 'complete') {
      if (op && !op.completed) {
        op.completed = true;
        c.completing++;
      }
      void dispatch(text);
      return;
    }
    if (op?.completed) {
      op.held = [{ subscribe: true, text }];
      return;
    }
    if (op) {
      void dispatch(text);
      return;
    }
    start(id, text);
  };
  return handle;
}

/** `reason` cut (by whole characters, with "…") to the 123 UTF-8 bytes a WebSocket close frame allows. */
export function fitCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > 120) break; // "…" takes 3
    out += ch;
    bytes += n;
  }
  return `${out}…`;
}

const closeReason = (err: unknown, isProd: boolean): string => {
  if (isProd) return 'Internal server error';
  const reason = err instanceof Error ? err.message : String(err);
  // A close reason is counted in UTF-8 bytes (123 at most; `ws` throws past that).
  return Buffer.byteLength(reason) <= 123 ? reason : 'Internal server error';
};

/** graphql-ws's `useServer` for `ws` with the send path above; returns its `dispose`. */
export function useFanoutServer<
  P extends ConnectionInitMessage['payload'] = ConnectionInitMessage['payload'],
  E extends Record<PropertyKey, unknown> = Record<PropertyKey, never>,
>(
  options: ServerOptions<P, WsExtra & Partial<E>> & { isProd?: boolean },
  ws: WebSocketServer,
  keepAlive = 12_000,
): { dispose(): Promise<void> } {
  const isProd =
    typeof options.isProd === 'boolean' ? options.isProd : process.env.NODE_ENV === 'production';
  const server = makeServer(options);
  ws.options.handleProtocols = handleProtocols;
  ws.once('error', (err) => {
    console.error(
      'Internal error emitted on the WebSocket server. Please check your implementation.',
      err,
    );
    for (const client of ws.clients) {
      try {
        client.close(CloseCode.InternalServerError, closeReason(err, isProd));
      } catch {
        // closing the others matters more
      }
    }
  });
  // The connection's request id (the upgrade's sane `X-Request-Id`, else a new UUID) is
  // answered in the 101 and carried by every log line written while its messages are handled.
  ws.on('headers', (headers: string[], request: IncomingMessage) => {
    headers.push(`X-Request-Id: ${connectionRequestId(request)}`);
  });
  ws.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const reqId = connectionRequestId(request);
    socket.once('error', (err) => {
      console.error(
        'Internal error emitted on a WebSocket socket. Please check your implementation.',
        err,
      );
      socket.close(CloseCode.InternalServerError, closeReason(err, isProd));
    });
    let pongWait: NodeJS.Timeout | null = null;
    const pingInterval =
      keepAlive > 0 && isFinite(keepAlive)
        ? setInterval(() => {
            if (socket.readyState === socket.OPEN) {
              pongWait = setTimeout(() => socket.terminate(), keepAlive);
              socket.once('pong', () => {
                if (pongWait) {
                  clearTimeout(pongWait);
                  pongWait = null;
                }
              });
              socket.ping();
            }
          }, keepAlive)
        : null;
    // The upgraded request's TCP socket is the one `ws` writes to.
    const conn: Conn = {
      socket,
      tcp: request.socket,
      tick: -1,
      corked: false,
      ops: new Map(),
      completing: 0,
    };
    conns.set(socket, conn);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => send(conn, data),
        // A close reason is at most 123 bytes (RFC 6455), and `ws` throws past that: graphql-ws
        // puts the client's id in some (4409), so a long id must not turn the close into a 4500.
        close: (code, reason) => socket.close(code, reason && fitCloseReason(reason)),
        onMessage: (cb) => {
          const handle = gateOperations(conn, (text) =>
            withRequestId(reqId, () => cb(text)).catch((err: unknown) => {
              console.error(
                'Internal error occurred during message handling. Please check your implementation.',
                err,
              );
              socket.close(CloseCode.InternalServerError, closeReason(err, isProd));
            }),
          );
          socket.on('message', (event: Buffer) => handle(String(event)));
        },
      },
      { socket, request } as WsExtra & Partial<E>,
    );
    socket.once('close', (code, reason) => {
      if (pongWait) clearTimeout(pongWait);
      if (pingInterval) clearInterval(pingInterval);
      if (
        !isProd &&
        code === (CloseCode.SubprotocolNotAcceptable as number) &&
        socket.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL
      )
        console.warn(
          'Client provided the unsupported and deprecated subprotocol "graphql-ws" used by subscriptions-transport-ws.',
        );
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      for (const client of ws.clients) client.close(1001, 'Going away');
      ws.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        ws.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}
