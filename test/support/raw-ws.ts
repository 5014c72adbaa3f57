/**
 * A raw graphql-transport-ws client for tests that need to see the wire: which message
 * answered which id, and how (and whether) the socket was closed.
 */
import WebSocket from 'ws';

export class RawWs {
  readonly messages: any[] = [];
  /** Each message as it came on the wire: its text, and whether it was a binary frame. */
  readonly frames: { text: string; binary: boolean }[] = [];
  closed?: { code: number; reason: string };

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, binary) => {
      const text = (data as Buffer).toString('utf8');
      this.frames.push({ text, binary });
      this.messages.push(JSON.parse(text));
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
    });
  }

  /** Opens a socket; with `init`, sends connection_init (token → `authorization`) and waits for the ack. */
  static async open(
    wsUrl: string,
    opts: { init?: boolean; token?: string | null } = {},
  ): Promise<RawWs> {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    const c = new RawWs(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('close', () => resolve());
    });
    if (opts.init !== false && socket.readyState === WebSocket.OPEN) {
      c.send({
        type: 'connection_init',
        payload: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      });
      await c.until(
        () => c.messages.some((m) => m.type === 'connection_ack') || c.closed !== undefined,
      );
    }
    return c;
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>): void {
    this.send({ id, type: 'subscribe', payload: { query, variables } });
  }

  /** Messages for one operation id. */
  of(id: string): any[] {
    return this.messages.filter((m) => m.id === id);
  }

  async until(cond: () => boolean, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end)
        throw new Error(
          `timed out; messages: ${JSON.stringify(this.messages).slice(0, 500)}; closed: ${JSON.stringify(this.closed)}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.socket.close();
  }
}
