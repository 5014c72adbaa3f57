/**
 * Embedded mode (`PHANTOM_EMBEDDED_CLUSTERS=on`, the default without a kubeconfig): two
 * simulated clusters, `sim-1` and `sim-2`, in this process, and a kubeconfig for them in
 * `<dataDir>/kubeconfig` so `kubectl --kubeconfig .phantom/kubeconfig` sees what Phantom sees.
 * Their objects are kept in `<dataDir>/clusters/<name>/` (written as they change, read back at
 * the next start with resourceVersions continuing). They run in this process only, so only a
 * single process running both roles starts them (see attachK8s): split roles need
 * PHANTOM_KUBECONFIG. Each tries the port it had before; when that one is taken it gets
 * another, and the kubeconfig (rewritten at every start) names the new one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  kubeconfigFor,
  startSimulatedCluster,
  type SimTiming,
  type SimulatedCluster,
} from './sim/index.js';

/** The embedded clusters' names: the default environments target them (see environment.service.ts). */
export const EMBEDDED_CLUSTER_NAMES = ['sim-1', 'sim-2'] as const;

export interface EmbeddedClusters {
  clusters: SimulatedCluster[];
  kubeconfigYaml: string;
  /** Where the kubeconfig was written. */
  kubeconfigPath: string;
  close(): Promise<void>;
}

/** Starts the embedded clusters with their objects from `dataDir` and writes their kubeconfig there. */
export async function startEmbeddedClusters(
  dataDir: string,
  timing?: Partial<SimTiming>,
): Promise<EmbeddedClusters> {
  const clusters: SimulatedCluster[] = [];
  try {
    for (const name of EMBEDDED_CLUSTER_NAMES)
      clusters.push(
        await startSimulatedCluster({ name, timing, dataDir: join(dataDir, 'clusters', name) }),
      );
  } catch (e) {
    await Promise.all(clusters.map((c) => c.close()));
    throw e;
  }
  const kubeconfigYaml = kubeconfigFor(clusters.map((c) => ({ name: c.name, url: c.url })));
  mkdirSync(dataDir, { recursive: true });
  const kubeconfigPath = join(dataDir, 'kubeconfig');
  // 0600 like kubectl's own files: a real kubeconfig would hold credentials.
  writeFileSync(kubeconfigPath, kubeconfigYaml, { mode: 0o600 });
  return {
    clusters,
    kubeconfigYaml,
    kubeconfigPath,
    close: async () => {
      await Promise.all(clusters.map((c) => c.close()));
    },
  };
}
