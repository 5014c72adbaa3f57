/**
 * A minimal HorizontalPodAutoscaler controller: there is no metrics API, so it keeps the target within
 * [minReplicas, maxReplicas] (as the real one does before looking at metrics) and reports status/conditions.
 */
import type { EventRecorder } from './event-recorder.js';
import { deepEqual } from './equality.js';
import { rfc3339 } from './names.js';
import type { Registry } from './registry.js';
import { findResource, type ResourceDef } from './resources.js';
import { countOr } from './validation.js';
import type {
  Deployment,
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerStatus,
  ReplicaSet,
  Stored,
} from './kinds.js';
import type { Condition } from './types.js';

const HPA = findResource('autoscaling', 'v2', 'horizontalpodautoscalers') as ResourceDef;
const TARGETS: Record<string, ResourceDef> = {
  Deployment: findResource('apps', 'v1', 'deployments') as ResourceDef,
  ReplicaSet: findResource('apps', 'v1', 'replicasets') as ResourceDef,
};
const SRC = { component: 'horizontal-pod-autoscaler' };

function cond(
  prev: Condition[] | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
): Condition {
  const p = (prev ?? []).find((c) => c.type === type);
  const same = p && p.status === status && p.reason === reason && p.message === message;
  return {
    type,
    status,
    lastTransitionTime: p && p.status === status ? p.lastTransitionTime : rfc3339(),
    reason,
    message: same ? p.message : message,
  };
}

export class HpaController {
  constructor(
    private readonly registry: Registry,
    private readonly recorder: EventRecorder,
  ) {}

  sync(hpaIn: Stored<HorizontalPodAutoscaler>): void {
    const hpa = structuredClone(hpaIn);
    const ns = hpa.metadata.namespace;
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const def = TARGETS[ref.kind as string];
    const target = def
      ? (this.registry.tryGet(def, ns, ref.name as string) as
          Stored<Deployment> | Stored<ReplicaSet> | undefined)
      : undefined;
    const prev = hpa.status?.conditions;
    const status: HorizontalPodAutoscalerStatus = { ...(hpa.status ?? {}) };
    // Defaulting gives every stored HPA and scale target a spec.
    const min = countOr(hpa.spec!.minReplicas, 1);
    const max = Math.max(min, countOr(hpa.spec!.maxReplicas, min));
    if (!def || !target) {
      const res = def
        ? `${def.resource}/scale.${def.group}`
        : `${String(ref.kind).toLowerCase()}s/scale`;
      status.conditions = [
        cond(
          prev,
          'AbleToScale',
          'False',
          'FailedGetScale',
          `the HPA controller was unable to get the target's current scale: ${res} "${String(ref.name)}" not found`,
        ),
      ];
      status.currentReplicas = status.currentReplicas ?? 0;
      status.desiredReplicas = status.desiredReplicas ?? 0;
    } else {
      const current = countOr(target.spec?.replicas, 0);
      let desired = current;
      let limited = false;
      if (current > 0) {
        if (current > max) {
          desired = max;
          limited = true;
        } else if (current < min) {
          desired = min;
          limited = true;
        }
      }
      if (desired !== current) {
        const next = structuredClone(target);
        next.spec!.replicas = desired;
        delete next.metadata.resourceVersion;
        this.registry.update(def, ns, target.metadata.name, next);
        status.lastScaleTime = rfc3339();
        this.recorder.record(
          hpa,
          'Normal',
          'SuccessfulRescale',
          `New size: ${desired}; reason: Current number of replicas ${current > max ? 'above Spec.MaxReplicas' : 'below Spec.MinReplicas'}`,
          SRC,
        );
      }
      status.currentReplicas = target.status?.replicas ?? current;
      status.desiredReplicas = desired;
      status.currentMetrics = null;
      status.conditions = [
        cond(
          prev,
          'AbleToScale',
          'True',
          desired !== current ? 'SucceededRescale' : 'ReadyForNewScale',
          desired !== current
            ? `the HPA controller was able to update the target scale to ${desired}`
            : 'recommended size matches current size',
        ),
        current === 0
          ? cond(
              prev,
              'ScalingActive',
              'False',
              'ScalingDisabled',
              'scaling is disabled since the replica count of the target is zero',
            )
          : cond(
              prev,
              'ScalingActive',
              'False',
              'FailedGetResourceMetric',
              'the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API',
            ),
      ];
      if (limited)
        status.conditions.push(
          cond(
            prev,
            'ScalingLimited',
            'True',
            desired === max ? 'TooManyReplicas' : 'TooFewReplicas',
            `the desired replica count is ${desired === max ? 'more' : 'less'} than the ${desired === max ? 'maximum' : 'minimum'} replica count`,
          ),
        );
    }
    if (status.currentMetrics === null) delete status.currentMetrics;
    if (deepEqual(status, hpaIn.status ?? {})) return;
    hpa.status = status;
    delete hpa.metadata.resourceVersion;
    this.registry.update(HPA, ns, hpa.metadata.name, hpa, { subresource: 'status' });
  }
}
