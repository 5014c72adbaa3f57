import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum WorkloadStatus {
  PROGRESSING = 'PROGRESSING',
  AVAILABLE = 'AVAILABLE',
  DEGRADED = 'DEGRADED',
  MISSING = 'MISSING',
}
registerEnumType(WorkloadStatus, {
  name: 'WorkloadStatus',
  description:
    'PROGRESSING: a rollout is under way; AVAILABLE: rolled out and available; DEGRADED: stuck (deadline exceeded, crash loop, image pull failure) or unavailable; MISSING: no Deployment (or it could not be read: see `error`).',
});

export enum PodEventKind {
  ADDED = 'ADDED',
  MODIFIED = 'MODIFIED',
  DELETED = 'DELETED',
}
registerEnumType(PodEventKind, { name: 'PodEventType', description: 'What happened to a pod.' });

@ObjectType('WorkloadCondition', {
  description: 'A Deployment condition (Available, Progressing, ReplicaFailure).',
})
export class WorkloadConditionType {
  @Field() type!: string;
  @Field({ description: 'True, False or Unknown.' }) status!: string;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => String, { nullable: true, description: 'RFC 3339.' }) lastTransitionTime!:
    string | null;
}

@ObjectType('Pod', { description: 'A pod of a workload, as the informer cache last saw it.' })
export class PodType {
  @Field() name!: string;
  @Field({ description: 'Pending, Running, Succeeded, Failed or Unknown.' }) phase!: string;
  @Field({
    description:
      'The STATUS `kubectl get pods` shows: Running, ContainerCreating, CrashLoopBackOff, Terminating, …',
  })
  status!: string;
  @Field() ready!: boolean;
  @Field(() => Int) restarts!: number;
  @Field(() => String, { nullable: true }) nodeName!: string | null;
  @Field(() => String, { nullable: true, description: 'RFC 3339.' }) startedAt!: string | null;
  @Field(() => String, { nullable: true }) image!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Why the pod is not running (waiting or termination reason), if it is not.',
  })
  reason!: string | null;
}

@ObjectType('HpaStatus', {
  description: "The workload's horizontal pod autoscaler in one cluster.",
})
export class HpaStatusType {
  @Field(() => Int) minReplicas!: number;
  @Field(() => Int) maxReplicas!: number;
  @Field(() => Int) currentReplicas!: number;
  @Field(() => Int) desiredReplicas!: number;
  @Field(() => Int, { nullable: true, description: 'Target average CPU utilization, percent.' })
  targetCpuUtilization!: number | null;
}

@ObjectType('KubeEvent', {
  description: 'A Kubernetes Event about the workload, its ReplicaSets, pods or HPA.',
})
export class KubeEventType {
  @Field({ description: 'Normal or Warning.' }) type!: string;
  @Field() reason!: string;
  @Field() message!: string;
  @Field({ description: '`Kind/name` of the object the event is about.' }) object!: string;
  @Field(() => Int) count!: number;
  @Field(() => String, { nullable: true, description: 'RFC 3339.' }) lastSeen!: string | null;
}

@ObjectType('Workload', {
  description:
    'An app in an environment on one target cluster. Live fields come from the informer cache.',
})
export class WorkloadType {
  @Field({
    description:
      "The Deployment's name: the app's name, or `<app>-canary` for a canary (`App.canaries`).",
  })
  name!: string;
  @Field() cluster!: string;
  @Field() namespace!: string;
  @Field(() => String, { nullable: true }) image!: string | null;
  @Field(() => Int, {
    nullable: true,
    description: 'The Deployment revision (increases on every template change).',
  })
  revision!: number | null;
  @Field(() => String, {
    nullable: true,
    description: 'The release that applied this workload, if any.',
  })
  releaseId!: string | null;
  @Field(() => Int, { description: 'Desired replicas.' }) replicas!: number;
  @Field(() => Int) readyReplicas!: number;
  @Field(() => Int) updatedReplicas!: number;
  @Field(() => Int) availableReplicas!: number;
  @Field(() => WorkloadStatus) status!: WorkloadStatus;
  @Field(() => [WorkloadConditionType]) conditions!: WorkloadConditionType[];
  @Field(() => [PodType]) pods!: PodType[];
  @Field(() => HpaStatusType, { nullable: true }) hpa!: HpaStatusType | null;
  @Field(() => String, {
    nullable: true,
    description:
      "Why this cluster's part could not be read or changed (the others are still answered).",
  })
  error!: string | null;
}

@ObjectType('PodEvent', { description: 'A pod of the app was added, changed or deleted.' })
export class PodEventType {
  @Field(() => PodEventKind) type!: PodEventKind;
  @Field() cluster!: string;
  @Field() namespace!: string;
  @Field() app!: string;
  @Field() env!: string;
  @Field(() => PodType) pod!: PodType;
  @Field({ description: 'When a Phantom watcher saw the change (RFC 3339).' }) observedAt!: string;
}
