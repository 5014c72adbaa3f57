/**
 * Where clusters come from. Each cluster is a {@link KubeConfig} with one current context;
 * the registry is the only place that knows how they were configured (kubeconfig file,
 * embedded simulators, later in-cluster service accounts).
 */
import type { KubeConfig } from '@kubernetes/client-node';

export interface ClusterRegistry {
  /** Cluster names, in configuration order. */
  names(): string[];
  /** A KubeConfig whose current context is `name`, or undefined for an unknown cluster. */
  get(name: string): KubeConfig | undefined;
}
