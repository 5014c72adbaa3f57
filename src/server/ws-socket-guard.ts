/**
 * Bounds on graphql-ws sockets. graphql-ws acknowledges an anonymous `connection_init` (the
 * API answers anonymous reads with UNAUTHENTICATED, not the socket) and then holds the socket
 * for as long as the client likes: one client could open thousands and keep them forever.
 * This caps the sockets per remote address and closes sockets that hold no subscription.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

/** Close code for a socket over {@link WsSocketGuardOptions.maxSocketsPerClient}: graphql-ws's "too many", which its client does not retry. */
export const WS_CLOSE_TOO_MANY_SOCKETS = 4429;
/** Close code for a socket idle past {@link WsSocketGuardOptions.idleTimeoutMs}: a timeout, which graphql-ws's client may retry (a lazy client reconnects when it next subscribes). */
export const WS_CLOSE_IDLE = 4408;

export interface WsSocketGuardOptions {
  /** Open sockets per remote address (PHANTOM_WS_MAX_SOCKETS_PER_CLIENT, default 50); more are closed with 4429. */
  maxSocketsPerClient: number;
  /**
   * A socket with no active subscription for this long is closed with 4408
   * (PHANTOM_WS_IDLE_TIMEOUT_MS, default 60000): never acknowledged, or acknowledged and idle.
   */
  idleTimeoutMs: number;
}

interface SocketState {
  timer?: NodeJS.Timeout;
  /** Counts graphql-ws's live subscriptions of this socket, once it is acknowledged. */
  subscriptions?: () => number;
}

/** One per WebSocket server; see the module comment. */
export class WsSocketGuard {
  private readonly perClient = new Map<string, number>();
  private readonly sockets = new WeakMap<WebSocket, SocketState>();

  constructor(private readonly opts: WsSocketGuardOptions) {}

  /**
   * For the WebSocket server's `connection` event, registered before graphql-ws's own listener
   * so that a refused socket is closing before graphql-ws acknowledges anything on it.
   */
  admit(socket: WebSocket, request: IncomingMessage): void {
    // The peer address, not X-Forwarded-For (which any client can write): behind a proxy all
    // clients share the proxy's address, so raise the cap there.
    const client = request.socket.remoteAddress ?? 'unknown';
    const open = this.perClient.get(client) ?? 0;
    if (open >= this.opts.maxSocketsPerClient) {
      socket.close(
        WS_CLOSE_TOO_MANY_SOCKETS,
        `Too many sockets from this client (limit ${this.opts.maxSocketsPerClient})`,
      );
      return;
    }
    this.perClient.set(client, open + 1);
    const state: SocketState = {};
    this.sockets.set(socket, state);
    socket.once('close', () => {
      clearTimeout(state.timer);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    });
    this.touch(socket);
  }

  /** Lets the idle check count the socket's subscriptions (graphql-ws's `ctx.subscriptions`, from onConnect). */
  attach(socket: WebSocket, subscriptions: () => number): void {
    const state = this.sockets.get(socket);
    if (state) state.subscriptions = subscriptions;
  }

  /** Activity on the socket (a subscribe, a completion): the idle time starts again. */
  touch(socket: WebSocket): void {
    const state = this.sockets.get(socket);
    if (!state || socket.readyState !== socket.OPEN) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      // A socket serving a subscription is never idle; look again later.
      if ((state.subscriptions?.() ?? 0) > 0) this.touch(socket);
      else socket.close(WS_CLOSE_IDLE, `Idle: no subscription for ${this.opts.idleTimeoutMs} ms`);
    }, this.opts.idleTimeoutMs);
    state.timer.unref();
  }
}
