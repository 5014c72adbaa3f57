import { Field, ObjectType } from 'type-graphql';

@ObjectType('Cluster', { description: 'A Kubernetes cluster Phantom deploys to.' })
export class ClusterType {
  @Field() name!: string;
  @Field({ description: "The API server answers and this replica's informer cache is in sync." })
  healthy!: boolean;
  @Field(() => String, { nullable: true, description: 'Kubernetes version, e.g. v1.33.0.' })
  version!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
}
