import type { Redis } from 'ioredis';
import {
  type AppendOptions,
  ConsumingEventStream,
  type GroupEntry,
  type GroupReader,
  type StreamEntry,
} from './event-stream.js';
import { assertNoClientPrefix, createRedis } from './redis-connection.js';

/** Options for {@link RedisEventStream}. */
export interface RedisEventStreamOptions {
  /** Redis URL: each consumer opens its own connection for blocking reads. */
  url: string;
  /** Command connection (XADD, XACK, XAUTOCLAIM); shared, not closed by this class. */
  client: Redis;
  /** Prepended to stream keys. Default: `''`. */
  keyPrefix?: string;
  /** Default `MAXLEN ~` for `append`. Default: 100 000 entries per stream. */
  maxLen?: number;
}

type RawEntry = [string, string[] | null];

function toEntry([streamId, fields]: RawEntry): GroupEntry {
  if (!fields) return { streamId, id: '', body: null };
  let id = '';
  let body: Record<string, unknown> | null = null;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'id') id = fields[i + 1]!;
    else if (fields[i] === 'body') body = JSON.parse(fields[i + 1]) as Record<string, unknown>;
  }
  return { streamId, id: id || streamId, body };
}

/**
 * {@link EventStream} on Redis Streams: XADD with approximate MAXLEN, XRANGE for replay,
 * XREADGROUP/XACK for groups and XAUTOCLAIM to take over a dead consumer's entries. An entry
 * is two fields, `id` (event id) and `body` (JSON). Blocking reads run on one dedicated
 * connection per consumer, so they never hold up the shared command connection.
 */
export class RedisEventStream extends ConsumingEventStream {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly maxLen: number;
  private readonly readers = new Set<Redis>();

  constructor(private readonly opts: RedisEventStreamOptions) {
    super();
    assertNoClientPrefix(opts.client);
    this.client = opts.client;
    this.prefix = opts.keyPrefix ?? '';
    this.maxLen = opts.maxLen ?? 100_000;
  }

  async append(
    stream: string,
    entry: { id?: string; body: object },
    opts: AppendOptions = {},
  ): Promise<string> {
    const id = entry.id ?? crypto.randomUUID();
    const maxLen = opts.maxLen ?? this.maxLen;
    const sid = await this.client.xadd(
      this.key(stream),
      'MAXLEN',
      '~',
      maxLen,
      '*',
      'id',
      id,
      'body',
      JSON.stringify(entry.body),
    );
    return sid as string;
  }

  async read(stream: string, afterId = '0', count = 100): Promise<StreamEntry[]> {
    const start = afterId === '0' || afterId === '0-0' ? '-' : `(${afterId}`;
    const raw = (await this.client.xrange(
      this.key(stream),
      start,
      '+',
      'COUNT',
      count,
    )) as RawEntry[];
    return raw.map(toEntry).filter((e): e is StreamEntry => e.body !== null);
  }

  async trim(stream: string, maxLen: number, exact = false): Promise<number> {
    return exact
      ? this.client.xtrim(this.key(stream), 'MAXLEN', maxLen)
      : this.client.xtrim(this.key(stream), 'MAXLEN', '~', maxLen);
  }

  protected async ensureGroup(stream: string, group: string, startId: string): Promise<void> {
    try {
      await this.client.xgroup('CREATE', this.key(stream), group, startId, 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  protected async ack(stream: string, group: string, streamIds: string[]): Promise<void> {
    await this.client.xack(this.key(stream), group, ...streamIds);
  }

  protected async claim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
  ): Promise<number> {
    let cursor = '0-0';
    let claimed = 0;
    // XAUTOCLAIM pages through the pending list; JUSTID moves ownership without reading
    // bodies (the consumer reads its own pending list next, in stream order).
    for (let page = 0; page < 1000; page++) {
      const [next, ids] = (await this.client.xautoclaim(
        this.key(stream),
        group,
        consumer,
        minIdleMs,
        cursor,
        'COUNT',
        100,
        'JUSTID',
      )) as [string, string[]];
      claimed += ids.length;
      if (next === '0-0') break;
      cursor = next;
    }
    return claimed;
  }

  protected openReader(): GroupReader {
    const conn = createRedis(this.opts.url, {
      blocking: true,
      connectionName: 'phantom:stream:reader',
    });
    let closed = false;
    conn.on('error', () => {
      // Reconnects are automatic; the consumer loop reports failed reads itself.
    });
    this.readers.add(conn);
    return {
      read: async (stream, group, consumer, mode, count, blockMs) => {
        const args: Array<string | number> = ['GROUP', group, consumer, 'COUNT', count];
        if (mode === 'new') args.push('BLOCK', blockMs);
        args.push('STREAMS', this.key(stream), mode === 'new' ? '>' : '0');
        const res = (await (conn.xreadgroup as (...a: Array<string | number>) => Promise<unknown>)(
          ...args,
        )) as Array<[string, RawEntry[]]> | null;
        return res?.[0]?.[1].map(toEntry) ?? [];
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.readers.delete(conn);
        conn.disconnect();
      },
    };
  }

  protected closeConnections(): Promise<void> {
    for (const r of this.readers) r.disconnect();
    this.readers.clear();
    return Promise.resolve();
  }

  private key(stream: string): string {
    return this.prefix + stream;
  }
}
