import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from './node.type.js';

@ObjectType('DeployTarget', { description: 'A namespace on a cluster.' })
export class DeployTargetType {
  @Field() cluster!: string;
  @Field() namespace!: string;
}

@ObjectType('Environment', {
  implements: Node,
  description: 'A platform environment and where it deploys.',
})
export class EnvironmentType extends Node {
  @Field() name!: string;
  @Field({ description: 'Releases to it need an approved ticket.' }) requiresApproval!: boolean;
  @Field(() => [DeployTargetType]) targets!: DeployTargetType[];
}

@InputType()
export class DeployTargetInput {
  @Field() cluster!: string;
  @Field() namespace!: string;
}

@InputType({ description: 'An environment to create or replace.' })
export class EnvironmentInput {
  @Field() name!: string;
  @Field() requiresApproval!: boolean;
  @Field(() => [DeployTargetInput]) targets!: DeployTargetInput[];
  @Field(() => Int, { nullable: true, description: 'Display order; lower first.' }) position?:
    number | null;
}
