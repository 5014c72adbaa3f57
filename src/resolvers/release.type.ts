import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from './node.type.js';
import { PageInfo } from './connection.type.js';
import { ReleaseStrategy } from './enums.js';
import { ProgressKind, ReleaseStatus, StepStatus } from '../domain/releases/release-model.js';

registerEnumType(ReleaseStatus, {
  name: 'ReleaseStatus',
  description:
    'PENDING → [BUILDING: no image or build was given, the default branch is built first] → PRECHECKING → [AWAITING_APPROVAL] → DEPLOYING ⇄ VERIFYING (per wave) → [PAUSED: canary] → SUCCEEDED; on failure ROLLING_BACK → ROLLED_BACK, or FAILED; CANCELED; REJECTED.',
});
registerEnumType(StepStatus, {
  name: 'ReleaseStepStatus',
  description: 'Where a release step stands.',
});
registerEnumType(ProgressKind, {
  name: 'ReleaseProgressKind',
  description:
    'What a progress entry reports: CREATED, STATUS (the release status changed), STEP, PODS (pod counts of a cluster), PRECHECKS.',
});

@ObjectType('ReleaseStep', {
  description:
    "One step of a release: build (waits for the release's build), precheck, approval, canary, pause, deploy (one wave per cluster), cleanup, rollback.",
})
export class ReleaseStepType {
  @Field() name!: string;
  @Field(() => String, { nullable: true, description: 'The target cluster of a wave.' }) cluster!:
    string | null;
  @Field(() => String, { nullable: true }) namespace!: string | null;
  @Field(() => StepStatus) status!: StepStatus;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true }) message!: string | null;
}

@ObjectType('ReleaseClusterProgress', {
  description: "One target cluster's pods, as the release last saw them.",
})
export class ReleaseClusterProgressType {
  @Field() cluster!: string;
  @Field() namespace!: string;
  @Field(() => Int) desired!: number;
  @Field(() => Int) updated!: number;
  @Field(() => Int) ready!: number;
  @Field(() => Int) available!: number;
}

@ObjectType('ReleasePrecheck', { description: "One precheck rule's result; every rule is listed." })
export class ReleasePrecheckType {
  @Field() rule!: string;
  @Field() passed!: boolean;
  @Field() message!: string;
}

@ObjectType('Release', {
  implements: Node,
  description: "A release of an app's image to an environment, wave by wave over its clusters.",
})
export class ReleaseType extends Node {
  @Field({ description: "The app's name." }) app!: string;
  @Field() env!: string;
  @Field() image!: string;
  @Field(() => ReleaseStatus) status!: ReleaseStatus;
  @Field(() => ReleaseStrategy) strategy!: ReleaseStrategy;
  @Field(() => [ReleaseStepType]) steps!: ReleaseStepType[];
  @Field(() => [ReleaseClusterProgressType]) clusters!: ReleaseClusterProgressType[];
  @Field(() => [ReleasePrecheckType], {
    description: "Every precheck rule's result (empty until the prechecks ran).",
  })
  prechecks!: ReleasePrecheckType[];
  @Field({ description: 'Username of who asked for it.' }) createdBy!: string;
  @Field() description!: string;
  @Field(() => String, {
    nullable: true,
    description: 'Why it failed, was canceled or rejected, or what its rollback did.',
  })
  message!: string | null;
  @Field({ description: 'A cancel was asked for and the engine has not acted on it yet.' })
  cancelRequested!: boolean;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}

@ObjectType('ReleaseEdge')
export class ReleaseEdge {
  @Field() cursor!: string;
  @Field(() => ReleaseType) node!: ReleaseType;
}

@ObjectType('ReleaseConnection', { description: 'A page of releases, newest first.' })
export class ReleaseConnection {
  @Field(() => [ReleaseEdge]) edges!: ReleaseEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType('ReleaseProgress', {
  description: "One change of a release: its status, a step, or a cluster's pod counts.",
})
export class ReleaseProgressType {
  @Field({
    description:
      'Increases by one per release, with no gaps: pass the last one you saw as `after` to resume.',
  })
  sequence!: string;
  @Field(() => ProgressKind) kind!: ProgressKind;
  @Field() message!: string;
  @Field() at!: Date;
  @Field(() => ReleaseType, { description: 'The release as of this entry.' }) release!: ReleaseType;
}
