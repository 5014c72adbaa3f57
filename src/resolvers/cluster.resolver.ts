import { Ctx, Query, Resolver } from 'type-graphql';
import { ClusterType } from './cluster.type.js';
import type { GraphQLContext } from './context.type.js';
import { listClusters } from '../domain/workloads/workload.service.js';
import { k8sServices } from '../k8s/k8s.module.js';

@Resolver(() => ClusterType)
export class ClusterResolver {
  @Query(() => [ClusterType], {
    description:
      'Every cluster, with its health; an unreachable cluster has `healthy: false` and an `error`.',
  })
  clusters(@Ctx() ctx: GraphQLContext) {
    return listClusters(ctx.domain, k8sServices(ctx.services).runtime);
  }
}
