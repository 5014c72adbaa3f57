import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterRegistry } from './cluster-registry.js';

/**
 * Clusters from a kubeconfig: each context is a cluster, named after the context. A context
 * whose cluster or user entry is missing is skipped with an error at construction, since a
 * half-configured cluster would only fail later and less clearly.
 */
export class KubeconfigClusterRegistry implements ClusterRegistry {
  private readonly configs = new Map<string, KubeConfig>();

  /** @param yaml kubeconfig contents (YAML or JSON). */
  constructor(yaml: string) {
    const all = new KubeConfig();
    all.loadFromString(yaml);
    for (const ctx of all.getContexts()) {
      if (!all.getCluster(ctx.cluster))
        throw new Error(`kubeconfig: context "${ctx.name}" names unknown cluster "${ctx.cluster}"`);
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: all.getClusters(),
        users: all.getUsers(),
        contexts: all.getContexts(),
        currentContext: ctx.name,
      });
      this.configs.set(ctx.name, kc);
    }
    if (this.configs.size === 0) throw new Error('kubeconfig: no contexts');
  }

  static fromFile(path: string): KubeconfigClusterRegistry {
    return new KubeconfigClusterRegistry(readFileSync(path, 'utf8'));
  }

  names(): string[] {
    return [...this.configs.keys()];
  }

  get(name: string): KubeConfig | undefined {
    return this.configs.get(name);
  }
}
