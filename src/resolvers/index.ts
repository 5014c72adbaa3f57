import { buildSchema, type ClassType, type NonEmptyArray } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { GraphQLInterfaceType, type GraphQLSchema } from 'graphql';
import { AppResolver } from './app.resolver.js';
import { UserFieldsResolver, UserResolver } from './user.resolver.js';
import { EnvironmentResolver } from './environment.resolver.js';
import { NodeResolver } from './node.resolver.js';
import { AppWorkloadsResolver, WorkloadResolver } from './workload.resolver.js';
import { ClusterResolver } from './cluster.resolver.js';
import { PlatformEventResolver } from './platform-event.resolver.js';
import { NotificationResolver } from './notification.resolver.js';
import { AuditResolver } from './audit.resolver.js';
import { AppReleasesResolver, ReleaseResolver, TicketReleaseResolver } from './release.resolver.js';
import { TicketResolver } from './ticket.resolver.js';
import { RulesResolver } from './rules.resolver.js';
import { AppBuildsResolver, BuildResolver, ReleaseBuildResolver } from './build.resolver.js';

/** Every resolver class. Modules add theirs here. */
export const resolvers: NonEmptyArray<ClassType> = [
  NodeResolver,
  UserResolver,
  UserFieldsResolver,
  AppResolver,
  EnvironmentResolver,
  AppWorkloadsResolver,
  WorkloadResolver,
  ClusterResolver,
  PlatformEventResolver,
  AuditResolver,
  NotificationResolver,
  ReleaseResolver,
  AppReleasesResolver,
  TicketResolver,
  TicketReleaseResolver,
  RulesResolver,
  BuildResolver,
  AppBuildsResolver,
  ReleaseBuildResolver,
];

/** Builds the executable schema (also used to emit schema/schema.graphql). */
export async function buildPhantomSchema(extra: ClassType[] = []): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [...resolvers, ...extra] as NonEmptyArray<ClassType>,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: false,
    // Every @Subscription passes its own `subscribe` (fed by src/pubsub); type-graphql still demands a pubSub.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new Error('use `subscribe:` on @Subscription');
      },
    },
    emitSchemaFile: false,
  });
  // type-graphql wraps an interface's resolveType in an async function: a promise for every
  // object of an abstract type, which the compiled execution (compiled-execution.ts) does not
  // await. Node's answer is the presenter's `__typename`, known at once.
  const node = schema.getType('Node');
  if (node instanceof GraphQLInterfaceType)
    node.resolveType = (value: { __typename?: string }) => value.__typename;
  // type-graphql's resolver for a field with arguments answers a promise (its argument
  // validation is async even when off): for `platformEvents` live, whose value is the event
  // itself (its arguments are read by `subscribe` only), that is a promise per event and
  // selection, and no direct delivery (ws-shared-execution.ts). The event, at once.
  const live = schema.getSubscriptionType()?.getFields().platformEvents;
  if (live) live.resolve = (event: unknown) => event;
  return schema;
}
