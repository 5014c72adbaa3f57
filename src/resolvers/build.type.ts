import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from './node.type.js';
import { PageInfo } from './connection.type.js';
import { BuildStatus } from '../domain/builds/build-model.js';

registerEnumType(BuildStatus, {
  name: 'BuildStatus',
  description:
    'QUEUED → RUNNING → SUCCEEDED | FAILED; CANCELED (cancelBuild). A build whose worker died is run again or FAILED, never left RUNNING.',
});

@ObjectType('BuildDependency', {
  description:
    'One dependency the scan of a build found (a jar, a package-lock.json entry, a go.sum module).',
})
export class BuildDependencyType {
  @Field({ description: 'Artifact name (`log4j-core`), npm package or Go module.' }) name!: string;
  @Field() version!: string;
  @Field({ description: 'Where in the checkout it was found (`lib/log4j-core-2.14.1.jar`).' })
  path!: string;
}

@ObjectType('BuildLog', { description: "A page of a build's log." })
export class BuildLogType {
  @Field(() => [String], {
    description:
      'The lines, oldest first. Lines dropped by the log bound (PHANTOM_BUILD_LOG_MAX_BYTES) are replaced by one line saying so.',
  })
  lines!: string[];
  @Field(() => Int, {
    description: 'The offset to ask for next (the same offset when nothing new was written yet).',
  })
  nextOffset!: number;
}

@ObjectType('BuildLogChunk', {
  description: 'Log lines of a build as they are written (buildLog).',
})
export class BuildLogChunkType {
  @Field(() => Int, { description: 'The offset of the first line.' }) offset!: number;
  @Field(() => [String]) lines!: string[];
  @Field(() => Int, { description: 'Resume from here (`buildLog(id, offset: nextOffset)`).' })
  nextOffset!: number;
}

@ObjectType('Build', {
  implements: Node,
  description: 'A build of an app at a git ref: clone, build command, dependency scan, image.',
})
export class BuildType extends Node {
  @Field({ description: "The app's name." }) app!: string;
  @Field(() => Int, { description: '1, 2, 3, … per app.' }) number!: number;
  @Field(() => String, {
    nullable: true,
    description: "The ref asked for; null = the repository's default branch.",
  })
  ref!: string | null;
  @Field(() => String, { nullable: true, description: 'The commit built (once cloned).' }) commit!:
    string | null;
  @Field(() => BuildStatus) status!: BuildStatus;
  @Field(() => String, {
    nullable: true,
    description: '`<PHANTOM_REGISTRY>/<app>:<number>-<shortsha>` once it succeeded.',
  })
  image!: string | null;
  @Field(() => [BuildDependencyType], {
    nullable: true,
    description: 'What the dependency scan found (null until it succeeded).',
  })
  dependencies!: BuildDependencyType[] | null;
  @Field(() => String, {
    nullable: true,
    description: 'Why it failed or was canceled; what it built.',
  })
  message!: string | null;
  @Field({ description: 'A cancel was asked for and the engine has not acted on it yet.' })
  cancelRequested!: boolean;
  @Field({ description: 'Username of who triggered it.' }) triggeredBy!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}

@ObjectType('BuildEdge')
export class BuildEdge {
  @Field() cursor!: string;
  @Field(() => BuildType) node!: BuildType;
}

@ObjectType('BuildConnection', { description: 'A page of builds, newest first.' })
export class BuildConnection {
  @Field(() => [BuildEdge]) edges!: BuildEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
