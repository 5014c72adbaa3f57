/**
 * Wires the Kubernetes runtime into a Phantom process: the cluster registry (a kubeconfig, or
 * the embedded simulated clusters), the runtime with its informer caches, the leader-elected
 * watcher that publishes changes, and the relay that fans pod changes out on the bus.
 * Resolvers reach it as `ctx.services.k8s`.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { PartitionedStream } from '../pubsub/index.js';
import type { Platform } from '../server/platform.js';
import type { ClusterRegistry } from './cluster-registry.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ClusterWatchers } from './cluster-watcher.js';
import { startEmbeddedClusters } from './embedded-clusters.js';
import { claimEmbeddedClusters } from './embedded-cluster-claim.js';
import { KubeconfigClusterRegistry } from './kubeconfig-cluster-registry.js';
import { KubeRuntime } from './kube-runtime.js';
import { PodEventRelay, podEventKey } from './pod-event-relay.js';
import type { PodEventMessage, WorkloadRef } from './types.js';
import { workloadDeletionGuard } from '../domain/workloads/workload.service.js';

/** Partitions of the `k8s-events` stream. Part of the data layout: change only on an empty stream. */
export const K8S_EVENT_PARTITIONS = 8;
export const K8S_EVENTS_STREAM = 'k8s-events';

/** Options for {@link attachK8s}. */
export interface K8sModuleOptions {
  /**
   * Partitions of the `k8s-events` stream. Default: {@link K8S_EVENT_PARTITIONS}. Every
   * replica sharing a Redis must use the same count (see the note there).
   */
  eventPartitions?: number;
}

export interface K8sServices {
  runtime: ClusterRuntime;
  /** The `k8s-events` partitioned stream the watchers append to (key = object uid). */
  events: PartitionedStream;
  watchers: ClusterWatchers;
  /** This process's id as watcher lease holder and stream consumer. */
  replicaId: string;
  /** The kubeconfig in use (the embedded clusters' file, or PHANTOM_KUBECONFIG). */
  kubeconfigPath: string | null;
  /** Why this process runs with no clusters (split roles without PHANTOM_KUBECONFIG), else null. */
  clustersWarning: string | null;
  /** Pod changes of one app in one env, from every replica's watchers (bus topic `podEvents`); active when resolved. */
  podEvents(ref: WorkloadRef): Promise<AsyncIterableIterator<PodEventMessage>>;
}

const NO_CLUSTERS: ClusterRegistry = { names: () => [], get: () => undefined };

/** Logged (and kept as `K8sServices.clustersWarning`) when a split-role process has no kubeconfig. */
export const SPLIT_ROLES_WARNING =
  'PHANTOM_KUBECONFIG is required when roles are split: embedded clusters run only in a single process with both roles (api,worker)';

const rolesOf = (r: { api: boolean; worker: boolean }): string =>
  [r.api && 'api', r.worker && 'worker'].filter(Boolean).join(',');

/** Builds the k8s services for `platform`, registers their shutdown, and sets `platform.services.k8s`. */
export async function attachK8s(
  platform: Platform,
  opts: K8sModuleOptions = {},
): Promise<K8sServices> {
  const { config, logger, messaging } = platform;
  let registry: ClusterRegistry = NO_CLUSTERS;
  let kubeconfigPath: string | null = null;
  let clustersWarning: string | null = null;
  if (config.kubeconfigPath) {
    registry = KubeconfigClusterRegistry.fromFile(config.kubeconfigPath);
    kubeconfigPath = config.kubeconfigPath;
  } else if (config.embeddedClusters && config.roles.api && config.roles.worker) {
    // Embedded clusters live in this process's memory: only a single process with both roles
    // may own them (another process would start unrelated clusters of the same names), and
    // only one process per database: a second replica on it refuses to start (item 8).
    const claim = await claimEmbeddedClusters(platform.orm.em, {
      onError: (err, msg) => logger.error({ err }, msg),
    });
    platform.onClose(() => claim.release());
    const embedded = await startEmbeddedClusters(config.dataDir);
    platform.onClose(() => embedded.close());
    registry = new KubeconfigClusterRegistry(embedded.kubeconfigYaml);
    kubeconfigPath = embedded.kubeconfigPath;
    logger.info(
      { kubeconfig: kubeconfigPath, clusters: embedded.clusters.map((c) => c.url) },
      `embedded clusters started (objects kept in ${config.dataDir}/clusters; ports may change at a restart); kubeconfig written to ${kubeconfigPath}: kubectl --kubeconfig ${kubeconfigPath} get pods -A`,
    );
  } else if (config.embeddedClusters) {
    clustersWarning = `${SPLIT_ROLES_WARNING} (this process runs roles: ${rolesOf(config.roles)}); running with no clusters.`;
    logger.warn({ roles: config.roles }, clustersWarning);
  }
  const onError = (err: unknown): void => logger.warn({ err }, 'k8s');
  const runtime = new KubeRuntime(registry, {
    onError: (kind, err) => logger.debug({ err, kind }, 'informer error (restarting)'),
  }).start();
  platform.onClose(() => runtime.close());
  const replicaId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const stream = messaging.partitioned(
    K8S_EVENTS_STREAM,
    opts.eventPartitions ?? K8S_EVENT_PARTITIONS,
  );
  const relay = new PodEventRelay(stream, messaging.bus, { consumer: replicaId, onError }).start();
  platform.onClose(() => relay.stop());
  const watchers = new ClusterWatchers(runtime, messaging.leases, stream, {
    holder: replicaId,
    onError,
  }).start();
  platform.onClose(() => watchers.stop());
  const services: K8sServices = {
    runtime,
    events: stream,
    watchers,
    replicaId,
    kubeconfigPath,
    clustersWarning,
    podEvents: async (ref) => {
      const it = messaging.bus.asyncIterator('podEvents', { key: podEventKey(ref.app, ref.env) });
      await messaging.bus.ready();
      return it;
    },
  };
  // deleteApp refuses while the app still runs on a cluster (the apps module cannot import workloads).
  platform.deps.appDeletionGuards.push(workloadDeletionGuard(runtime));
  platform.services.k8s = services;
  return services;
}

/** The k8s services of a process (set by {@link attachK8s}). */
export function k8sServices(services: { k8s?: K8sServices }): K8sServices {
  const s = services.k8s;
  if (!s) throw new Error('k8s services are not attached to this platform');
  return s;
}
