import { buildSchema, type NonEmptyArray } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { GraphQLSchema } from 'graphql';
import { AppResolver } from './app.resolver.js';
import { UserResolver } from './user.resolver.js';
import { EnvironmentResolver } from './environment.resolver.js';
import { NodeResolver } from './node.resolver.js';

/** Every resolver class. Modules add theirs here. */
export const resolvers: NonEmptyArray<Function> = [NodeResolver, UserResolver, AppResolver, EnvironmentResolver];

/** Builds the executable schema (also used to emit schema/schema.graphql). */
export async function buildPhantomSchema(extra: Function[] = []): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...resolvers, ...extra] as NonEmptyArray<Function>,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: false,
    emitSchemaFile: false,
  });
}
