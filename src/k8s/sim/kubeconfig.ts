/**
 * kubeconfig YAML for simulated clusters. No authentication: each user impersonates its own
 * name (`as:`, sent by kubectl as `Impersonate-User` even over http, where client-go sends no
 * tokens) so that `kubectl auth whoami` names the kubeconfig's user; it grants nothing. The servers are plain HTTP: client-node 1.x refuses an
 * `http:` server unless `insecure-skip-tls-verify: true` is set, so it is (kubectl ignores it for http).
 */
import { stringify } from 'yaml';

export function kubeconfigFor(
  clusters: { name: string; url: string }[],
  currentContext?: string,
): string {
  if (!clusters.length) throw new Error('kubeconfigFor: at least one cluster is required');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: clusters.map((c) => ({
      name: c.name,
      cluster: { server: c.url, 'insecure-skip-tls-verify': true },
    })),
    contexts: clusters.map((c) => ({
      name: c.name,
      context: { cluster: c.name, user: c.name, namespace: 'default' },
    })),
    users: clusters.map((c) => ({ name: c.name, user: { as: c.name } })),
    'current-context': currentContext ?? (clusters[0] as { name: string }).name,
  };
  return stringify(doc);
}
