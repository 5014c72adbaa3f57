import { Field, InputType, Int } from 'type-graphql';
import { AppKind, ReleaseStrategy } from './enums.js';

@InputType({ description: 'Autoscaler settings; minReplicas ≤ maxReplicas.' })
export class HpaInput {
  @Field(() => Int) minReplicas!: number;
  @Field(() => Int) maxReplicas!: number;
  @Field(() => Int, { defaultValue: 80 }) targetCpuUtilization!: number;
}

@InputType({
  description:
    'Container settings; omitted fields keep their current (or default) values. `hpa: null` removes the autoscaler.',
})
export class ContainerInput {
  @Field(() => Int, { nullable: true, description: '0–500 (default 1).' }) replicas?: number | null;
  @Field(() => String, { nullable: true, description: 'Kubernetes CPU quantity (default "100m").' })
  cpu?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Kubernetes memory quantity (default "128Mi").',
  })
  memory?: string | null;
  @Field(() => Int, { nullable: true, description: '1–65535 (default 8080).' }) port?:
    number | null;
  @Field(() => String, { nullable: true, description: 'Default "/healthz".' }) healthCheckPath?:
    string | null;
  @Field(() => HpaInput, { nullable: true }) hpa?: HpaInput | null;
}

@InputType({
  description: 'Release settings; omitted fields keep their current (or default) values.',
})
export class ReleaseConfigInput {
  @Field(() => ReleaseStrategy, { nullable: true, description: 'Default ROLLING.' })
  strategy?: ReleaseStrategy | null;
  @Field(() => Boolean, { nullable: true, description: 'Default true.' }) autoRollback?:
    boolean | null;
  @Field(() => [String], { nullable: true, description: 'Default none.' }) autoReleaseEnvs?:
    string[] | null;
  @Field(() => Int, {
    nullable: true,
    description: 'A wave that makes no progress this long fails, 10–3600 (default 120).',
  })
  progressDeadlineSeconds?: number | null;
  @Field(() => Int, {
    nullable: true,
    description: 'CANARY: canary pods on the first cluster, 1–50 (default 1).',
  })
  canaryReplicas?: number | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'CANARY: seconds a verified canary waits for promoteRelease before going on by itself, 0–86400 (default 300).',
  })
  canaryPauseSeconds?: number | null;
}

/** The editable fields shared by create and update (not in the schema by itself). */
@InputType('AppEditableInput')
abstract class AppEditableInput {
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => String, { nullable: true }) repository?: string | null;
  @Field(() => String, { nullable: true }) buildCommand?: string | null;
  @Field(() => String, { nullable: true }) startCommand?: string | null;
  @Field(() => String, { nullable: true }) stopCommand?: string | null;
  @Field(() => ContainerInput, { nullable: true }) container?: ContainerInput | null;
  @Field(() => ReleaseConfigInput, { nullable: true }) releaseConfig?: ReleaseConfigInput | null;
}

@InputType({ description: 'A new app. Only name and kind are required.' })
export class CreateAppInput extends AppEditableInput {
  @Field({ description: 'DNS-1123 label, at most 40 characters.' }) name!: string;
  @Field(() => AppKind) kind!: AppKind;
}

@InputType({
  description: 'Changes to an app; omitted fields stay as they are. The name cannot change.',
})
export class UpdateAppInput extends AppEditableInput {
  @Field(() => AppKind, { nullable: true }) kind?: AppKind | null;
}

@InputType({ description: 'Filters for `apps`; all given filters must match.' })
export class AppFilter {
  @Field(() => String, { nullable: true, description: 'Substring of the app name.' }) name?:
    string | null;
  @Field(() => AppKind, { nullable: true }) kind?: AppKind | null;
  @Field(() => String, { nullable: true, description: 'Only apps this username is a member of.' })
  member?: string | null;
}
