import { Field, Int, ObjectType } from 'type-graphql';
import { Node } from './node.type.js';
import { AppKind, AppRole, ReleaseStrategy } from './enums.js';
import { UserType } from './user.type.js';
import { PageInfo } from './connection.type.js';

@ObjectType('Hpa', { description: 'Horizontal pod autoscaler settings.' })
export class HpaType {
  @Field(() => Int) minReplicas!: number;
  @Field(() => Int) maxReplicas!: number;
  @Field(() => Int, { description: 'Target average CPU utilization, percent.' })
  targetCpuUtilization!: number;
}

@ObjectType('ContainerSpec', {
  description: 'What runs: replicas, resources, port, health check, autoscaling.',
})
export class ContainerSpecType {
  @Field(() => Int) replicas!: number;
  @Field({ description: 'CPU request, a Kubernetes quantity such as "250m".' }) cpu!: string;
  @Field({ description: 'Memory request, a Kubernetes quantity such as "256Mi".' }) memory!: string;
  @Field(() => Int) port!: number;
  @Field() healthCheckPath!: string;
  @Field(() => HpaType, { nullable: true, description: 'Absent: a fixed replica count.' })
  hpa!: HpaType | null;
}

@ObjectType('ReleaseConfig', { description: 'How the app is released.' })
export class ReleaseConfigType {
  @Field(() => ReleaseStrategy) strategy!: ReleaseStrategy;
  @Field({ description: 'Roll back automatically when verification fails.' })
  autoRollback!: boolean;
  @Field(() => [String], {
    description: 'Environments released automatically after a successful build.',
  })
  autoReleaseEnvs!: string[];
  @Field(() => Int, {
    description:
      "A wave that makes no progress this long fails (the Deployment's progressDeadlineSeconds).",
  })
  progressDeadlineSeconds!: number;
  @Field(() => Int, { description: 'CANARY: canary pods on the first cluster.' })
  canaryReplicas!: number;
  @Field(() => Int, {
    description:
      'CANARY: seconds a verified canary waits for promoteRelease before the rollout goes on by itself.',
  })
  canaryPauseSeconds!: number;
}

@ObjectType('AppMember', { description: "A person's role on an app." })
export class AppMemberType {
  @Field(() => UserType) user!: UserType;
  @Field(() => AppRole) role!: AppRole;
}

@ObjectType('App', { implements: Node, description: 'A service in the registry.' })
export class AppType extends Node {
  @Field() name!: string;
  @Field(() => AppKind) kind!: AppKind;
  @Field() description!: string;
  @Field({ description: 'Source repository URL.' }) repository!: string;
  @Field() buildCommand!: string;
  @Field() startCommand!: string;
  @Field() stopCommand!: string;
  @Field(() => ContainerSpecType) container!: ContainerSpecType;
  @Field(() => ReleaseConfigType) releaseConfig!: ReleaseConfigType;
  @Field(() => Int, {
    description: 'Increases on every update; pass it as `expectedVersion` to update safely.',
  })
  version!: number;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType('AppEdge')
export class AppEdge {
  @Field() cursor!: string;
  @Field(() => AppType) node!: AppType;
}

@ObjectType('AppConnection', { description: 'A page of apps, ordered by name.' })
export class AppConnection {
  @Field(() => [AppEdge]) edges!: AppEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'How many apps match the filter, on all pages.' })
  totalCount!: number;
}
