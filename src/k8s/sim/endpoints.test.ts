/** Endpoints and EndpointSlices for Services: the real kubectl and client-node. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import { eventually, FAST_TIMING, kubectlEnv, tableRows, type KubectlEnv } from './test-support.js';

const APP = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {team: shop}
spec:
  selector: {app: web}
  ports: [{name: web, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sick
spec:
  replicas: 1
  selector:
    matchLabels: {app: sick}
  template:
    metadata:
      labels: {app: sick}
    spec:
      containers:
      - name: app
        image: example.com/sick:v1-crashloop
---
apiVersion: v1
kind: Service
metadata:
  name: sick
spec:
  selector: {app: sick}
  ports: [{port: 80}]
`;

describe('Endpoints and EndpointSlices', () => {
  let cluster: SimulatedCluster;
  let k: KubectlEnv;
  let core: k8s.CoreV1Api;
  let discovery: k8s.DiscoveryV1Api;

  beforeAll(async () => {
    cluster = await startSimulatedCluster({ name: 'eps', timing: FAST_TIMING });
    k = kubectlEnv(cluster.kubeconfigYaml());
    writeFileSync(join(k.dir, 'app.yaml'), APP);
    const kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfigYaml());
    core = kc.makeApiClient(k8s.CoreV1Api);
    discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  });

  afterAll(async () => {
    await cluster?.close();
    k?.cleanup();
    expect(cluster.controllerErrors).toEqual([]);
  });

  it('kubectl get endpoints lists the ready pods at the resolved target port', async () => {
    expect((await k.run(['apply', '-f', join(k.dir, 'app.yaml')])).code).toBe(0);
    const pods = await eventually(async () => {
      const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
      return list.items.length === 2 &&
        list.items.every((p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        )
        ? list.items
        : undefined;
    });
    const ips = pods.map((p) => p.status?.podIP as string);
    const ep = await eventually(async () => {
      const e = await core.readNamespacedEndpoints({ name: 'web', namespace: 'default' });
      return (e.subsets?.[0]?.addresses ?? []).length === 2 ? e : undefined;
    });
    expect(ep.metadata?.labels).toEqual({ team: 'shop' });
    expect(ep.subsets).toHaveLength(1);
    expect(ep.subsets?.[0]?.ports).toEqual([{ name: 'web', port: 8080, protocol: 'TCP' }]);
    expect(ep.subsets?.[0]?.addresses?.map((a) => a.ip).sort()).toEqual([...ips].sort());
    expect(ep.subsets?.[0]?.addresses?.map((a) => a.targetRef?.name).sort()).toEqual(
      pods.map((p) => p.metadata?.name).sort(),
    );

    const r = await k.run(['get', 'endpoints', 'web']);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['NAME', 'ENDPOINTS', 'AGE']);
    expect(rows[1]?.[1]?.split(',').sort()).toEqual(ips.map((ip) => `${ip}:8080`).sort());
    const described = await k.run(['describe', 'service', 'web']);
    expect(described.stdout).toMatch(/Endpoints:\s+\S*:8080/);
  });

  it('an EndpointSlice owned by the service carries the same pods with their conditions', async () => {
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: 'default',
      labelSelector: 'kubernetes.io/service-name=web',
    });
    expect(slices.items).toHaveLength(1);
    const s = slices.items[0];
    expect(s.metadata?.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(s.metadata?.labels).toMatchObject({
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      team: 'shop',
    });
    expect(s.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Service',
      name: 'web',
      controller: true,
    });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'web', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints.map((e) => e.conditions)).toEqual([
      { ready: true, serving: true, terminating: false },
      { ready: true, serving: true, terminating: false },
    ]);
    const r = await k.run(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
    expect(rows[1]?.slice(1, 3)).toEqual(['IPv4', '8080']);
  });

  it('pods that are not ready are notReadyAddresses; scaling follows', async () => {
    const sick = await eventually(async () => {
      const e = await core.readNamespacedEndpoints({ name: 'sick', namespace: 'default' });
      return (e.subsets?.[0]?.notReadyAddresses ?? []).length === 1 ? e : undefined;
    });
    expect(sick.subsets?.[0]?.addresses).toBeUndefined();
    const row = tableRows((await k.run(['get', 'ep', 'sick'])).stdout)[1];
    // No ready address: upstream's formatEndpoints prints an empty cell (not <none>) for a subset without addresses.
    expect(row).toHaveLength(2);
    expect(row?.[0]).toBe('sick');
    expect((await k.run(['scale', 'deployment', 'web', '--replicas=4'])).code).toBe(0);
    await eventually(async () => {
      const e = await core.readNamespacedEndpoints({ name: 'web', namespace: 'default' });
      return (e.subsets?.[0]?.addresses ?? []).length === 4;
    });
    const wide = tableRows((await k.run(['get', 'ep', 'web'])).stdout)[1];
    expect(wide?.[1]).toMatch(
      /^(\d+\.){3}\d+:8080,(\d+\.){3}\d+:8080,(\d+\.){3}\d+:8080 \+ 1 more\.\.\.$/,
    );
  });

  it('deleting the service removes its Endpoints and EndpointSlice', async () => {
    expect((await k.run(['delete', 'service', 'web'])).code).toBe(0);
    await eventually(async () => (await k.run(['get', 'endpoints', 'web'])).code === 1);
    await eventually(
      async () =>
        (
          await discovery.listNamespacedEndpointSlice({
            namespace: 'default',
            labelSelector: 'kubernetes.io/service-name=web',
          })
        ).items.length === 0,
    );
  });
});
