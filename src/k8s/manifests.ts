/**
 * The Kubernetes objects Phantom creates for an app in an environment: a Deployment, a
 * Service and (when the app autoscales) an HPA, all named after the app and labelled so the
 * watchers (selector: the `phantom.io/app` label is present) see them and their pods.
 */
import type {
  V1Deployment,
  V1DeploymentStrategy,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { WorkloadRef, WorkloadSpec } from './types.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'phantom';
export const APP_LABEL = 'phantom.io/app';
export const ENV_LABEL = 'phantom.io/env';
export const RELEASE_ANNOTATION = 'phantom.io/release-id';
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** On a canary Deployment and its pods: `canary`. The main Deployment's pods carry none. */
export const TRACK_LABEL = 'phantom.io/track';
/**
 * The selector every informer uses (Events excepted: they carry no labels): the presence of
 * `phantom.io/app`. Not `managed-by=phantom`: a Deployment carrying an app's labels is that
 * app's workload whoever applied it (kubectl, a GitOps tool), and its pods carry only what
 * its template says.
 */
export const WATCH_SELECTOR = APP_LABEL;

/** What a canary Deployment's name adds to its app's name (app names may not end in it). */
export const CANARY_SUFFIX = '-canary';

/** The workload's object name: the app name (a valid DNS-1123 label by app validation), `<app>-canary` for the canary. */
export const workloadName = (ref: WorkloadRef): string =>
  ref.variant === 'canary' ? `${ref.app}${CANARY_SUFFIX}` : ref.app;

/**
 * The Deployment's selector. The main one selects `app` + `env` (what it always did: a
 * selector is immutable); the canary adds `track=canary`, so its pods are not the main
 * Deployment's but do match the Service, which is what sends them a share of the traffic.
 */
export function selectorLabels(ref: WorkloadRef): Record<string, string> {
  const base = { [APP_LABEL]: ref.app, [ENV_LABEL]: ref.env };
  return ref.variant === 'canary' ? { ...base, [TRACK_LABEL]: 'canary' } : base;
}

export function workloadLabels(ref: WorkloadRef): Record<string, string> {
  return {
    [MANAGED_BY]: MANAGED_BY_VALUE,
    'app.kubernetes.io/name': ref.app,
    ...selectorLabels(ref),
  };
}

/** `spec.strategy` for `spec` (Recreate has no `rollingUpdate`: a merge patch sends it as null). */
export function strategyFor(spec: WorkloadSpec): V1DeploymentStrategy {
  return spec.strategy === 'Recreate'
    ? { type: 'Recreate' }
    : { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
}

export function deploymentFor(spec: WorkloadSpec, namespace: string): V1Deployment {
  const labels = workloadLabels(spec);
  const annotations: Record<string, string> = spec.releaseId
    ? { [RELEASE_ANNOTATION]: spec.releaseId }
    : {};
  const c = spec.container;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: workloadName(spec), namespace, labels, annotations },
    spec: {
      replicas: spec.replicas ?? (c.hpa ? c.hpa.minReplicas : c.replicas),
      selector: { matchLabels: selectorLabels(spec) },
      strategy: strategyFor(spec),
      ...(spec.progressDeadlineSeconds
        ? { progressDeadlineSeconds: spec.progressDeadlineSeconds }
        : {}),
      template: {
        metadata: { labels, annotations },
        spec: {
          containers: [
            {
              name: spec.app,
              image: spec.image,
              ports: [{ containerPort: c.port, name: 'http' }],
              resources: { requests: { cpu: c.cpu, memory: c.memory } },
              readinessProbe: { httpGet: { path: c.healthCheckPath, port: c.port } },
            },
          ],
        },
      },
    },
  };
}

export function serviceFor(spec: WorkloadSpec, namespace: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: workloadName(spec), namespace, labels: workloadLabels(spec) },
    spec: {
      selector: selectorLabels(spec),
      ports: [{ name: 'http', port: 80, targetPort: spec.container.port, protocol: 'TCP' }],
    },
  };
}

export function hpaFor(spec: WorkloadSpec, namespace: string): V2HorizontalPodAutoscaler | null {
  const h = spec.container.hpa;
  if (!h) return null;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: workloadName(spec), namespace, labels: workloadLabels(spec) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: workloadName(spec) },
      minReplicas: h.minReplicas,
      maxReplicas: h.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: h.targetCpuUtilization },
          },
        },
      ],
    },
  };
}
