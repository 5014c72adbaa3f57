import { Arg, Ctx, FieldResolver, Int, Mutation, Resolver, Root, Subscription } from 'type-graphql';
import { GraphQLError } from 'graphql';
import { AppType } from './app.type.js';
import type { GraphQLContext } from './context.type.js';
import type { PresentedApp } from './presenters.js';
import { KubeEventType, PodEventType, WorkloadType } from './workload.type.js';
import {
  deletePod,
  deployApp,
  listCanaries,
  listWorkloads,
  removeWorkload,
  restartApp,
  scaleApp,
  subscribePodEvents,
  viewerMayOperate,
} from '../domain/workloads/workload.service.js';
import { DomainError, badInput } from '../domain/shared/errors.js';
import { requireViewer } from '../domain/shared/authz.js';
import { k8sServices } from '../k8s/k8s.module.js';
import type { PodEventMessage, WorkloadState } from '../k8s/types.js';
import { MAX_EVENTS_PER_WORKLOAD } from '../k8s/types.js';

const runtime = (ctx: GraphQLContext) => k8sServices(ctx.services).runtime;

/** graphql-ws does not run Apollo's formatError: carry the domain code over the socket ourselves. */
function asGraphQLError(e: unknown): unknown {
  return e instanceof DomainError
    ? new GraphQLError(e.message, { extensions: { code: e.code, ...e.details } })
    : e;
}

@Resolver(() => AppType)
export class AppWorkloadsResolver {
  @FieldResolver(() => [WorkloadType], {
    description:
      'The app in `env`: one entry per target cluster of the environment, from the informer cache.',
  })
  workloads(@Root() app: PresentedApp, @Arg('env') env: string, @Ctx() ctx: GraphQLContext) {
    return listWorkloads(ctx.domain, runtime(ctx), app.name, env);
  }

  @FieldResolver(() => [WorkloadType], {
    description:
      "The app's canary Deployments (`<app>-canary`) in `env`, from the informer cache: a CANARY release runs one on the environment's first target from its canary step until the full rollout is verified, or until it fails. Empty when there is none; a target whose cluster could not be read is listed with its `error`.",
  })
  canaries(@Root() app: PresentedApp, @Arg('env') env: string, @Ctx() ctx: GraphQLContext) {
    return listCanaries(ctx.domain, runtime(ctx), app.name, env);
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether you may scale and restart this app and delete its pods (scaleApp, restartApp, deletePod): DEVELOPER or above with a WRITE credential, or platform admin.',
  })
  viewerCanOperate(@Root() app: PresentedApp, @Ctx() ctx: GraphQLContext) {
    return viewerMayOperate(ctx.domain, app.localId);
  }
}

@Resolver(() => WorkloadType)
export class WorkloadResolver {
  @FieldResolver(() => [KubeEventType], {
    description: `The newest \`last\` events (1–${MAX_EVENTS_PER_WORKLOAD}, default 10), oldest first.`,
  })
  events(
    @Root() w: WorkloadState,
    @Arg('last', () => Int, { nullable: true, defaultValue: 10 }) last: number,
  ) {
    if (!Number.isInteger(last) || last < 1 || last > MAX_EVENTS_PER_WORKLOAD)
      throw badInput('last', `last must be from 1 to ${MAX_EVENTS_PER_WORKLOAD}.`);
    return w.events.slice(-last);
  }

  @Mutation(() => [WorkloadType], {
    description:
      'Applies the app (its container spec, with `image`) to every target of `env` (DEVELOPER or above; to an environment that requires approval, platform admins only: releases are the normal way there). Records WORKLOAD_DEPLOYED.',
  })
  deployApp(
    @Arg('app') app: string,
    @Arg('env') env: string,
    @Arg('image') image: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return deployApp(ctx.domain, runtime(ctx), app, env, image);
  }

  @Mutation(() => [WorkloadType], {
    description:
      "Deletes the app's Deployment, Service and HPA in every target of `env` (DEVELOPER or above; in an environment that requires approval, platform admins only). Each entry is the target afterwards (MISSING once removed, or its error). Records WORKLOAD_REMOVED when something was removed. `deleteApp` needs this done in every environment first.",
  })
  removeWorkload(@Arg('app') app: string, @Arg('env') env: string, @Ctx() ctx: GraphQLContext) {
    return removeWorkload(ctx.domain, runtime(ctx), app, env);
  }

  @Mutation(() => [WorkloadType], {
    description: 'Rollout restart of the app in every target of `env` (DEVELOPER or above).',
  })
  restartApp(@Arg('app') app: string, @Arg('env') env: string, @Ctx() ctx: GraphQLContext) {
    return restartApp(ctx.domain, runtime(ctx), app, env);
  }

  @Mutation(() => [WorkloadType], {
    description:
      'Sets the replica count (0–500) of the app in every target of `env` (DEVELOPER or above).',
  })
  scaleApp(
    @Arg('app') app: string,
    @Arg('env') env: string,
    @Arg('replicas', () => Int) replicas: number,
    @Ctx() ctx: GraphQLContext,
  ) {
    return scaleApp(ctx.domain, runtime(ctx), app, env, replicas);
  }

  @Mutation(() => Boolean, {
    description:
      "Deletes one of the app's pods on `cluster`; its ReplicaSet replaces it (DEVELOPER or above).",
  })
  deletePod(
    @Arg('app') app: string,
    @Arg('env') env: string,
    @Arg('cluster') cluster: string,
    @Arg('pod') pod: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return deletePod(ctx.domain, runtime(ctx), app, env, cluster, pod);
  }

  @Subscription(() => PodEventType, {
    description:
      'Pod changes of the app in `env`, on every target cluster, whichever Phantom replica watches it.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      try {
        return await subscribePodEvents(
          ctx.domain,
          k8sServices(ctx.services),
          (args as { app: string }).app,
          (args as { env: string }).env,
        );
      } catch (e) {
        throw asGraphQLError(e);
      }
    },
  })
  podEvents(
    @Root() msg: PodEventMessage,
    @Arg('app') _app: string,
    @Arg('env') _env: string,
    @Ctx() ctx: GraphQLContext,
  ): PodEventMessage {
    // The context is built once per subscription: check the viewer again for each event.
    requireViewer(ctx.viewer);
    return msg;
  }
}
