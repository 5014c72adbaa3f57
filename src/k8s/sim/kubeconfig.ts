/** kubeconfig YAML for simulated clusters (no auth). */
import { stringify } from 'yaml';

export function kubeconfigFor(clusters: { name: string; url: string }[], currentContext?: string): string {
  if (!clusters.length) throw new Error('kubeconfigFor: at least one cluster is required');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: clusters.map((c) => ({ name: c.name, cluster: { server: c.url } })),
    contexts: clusters.map((c) => ({ name: c.name, context: { cluster: c.name, user: c.name, namespace: 'default' } })),
    users: clusters.map((c) => ({ name: c.name, user: {} })),
    'current-context': currentContext ?? (clusters[0] as { name: string }).name,
  };
  return stringify(doc);
}
