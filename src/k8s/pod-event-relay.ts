/**
 * Consumes the `k8s-events` partitioned stream (group `pod-events`, partitions shared between
 * replicas) and fans pod changes out on the bus (`podEvents`, key `app:env`), so a GraphQL
 * subscriber on any replica sees changes watched by another.
 */
import {
  Deduper,
  type Bus,
  type PartitionConsumerHandle,
  type PartitionedStream,
} from '../pubsub/index.js';
import type { PhantomTopics } from '../pubsub/topics.js';
import type { KubeObjectEvent, PodEventMessage } from './types.js';

export const POD_EVENTS_GROUP = 'pod-events';

/** Options for {@link PodEventRelay}. */
export interface PodEventRelayOptions {
  /** Consumer name, unique per process. */
  consumer: string;
  /** Partition lease TTL (see PartitionedStream.consume). Default: 5000 ms. */
  leaseTtlMs?: number;
  onError?: (err: unknown) => void;
}

export const podEventKey = (app: string, env: string): string => `${app}:${env}`;

export class PodEventRelay {
  private handle: PartitionConsumerHandle | undefined;
  private readonly deduper = new Deduper();

  constructor(
    private readonly stream: PartitionedStream,
    private readonly bus: Bus<PhantomTopics>,
    private readonly opts: PodEventRelayOptions,
  ) {}

  start(): this {
    this.handle = this.stream.consume(
      POD_EVENTS_GROUP,
      this.opts.consumer,
      async (entry) => {
        if (this.deduper.seen(entry.id)) return;
        const e = entry.body as unknown as KubeObjectEvent;
        if (e.kind !== 'Pod' || !e.app || !e.env || !e.pod) return;
        const msg: PodEventMessage = {
          type: e.type,
          cluster: e.cluster,
          namespace: e.namespace,
          app: e.app,
          env: e.env,
          pod: e.pod,
          observedAt: e.observedAt,
        };
        await this.bus.publish('podEvents', msg, podEventKey(e.app, e.env));
      },
      {
        // Live fan-out: a new group starts at the stream's end rather than replaying history to subscribers.
        startId: '$',
        leaseTtlMs: this.opts.leaseTtlMs ?? 5000,
        blockMs: 500,
        onError: this.opts.onError,
      },
    );
    return this;
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
  }
}
