import { Field, ID, InterfaceType } from 'type-graphql';

/** Relay's Node: anything with an opaque global id that `Query.node` can fetch. */
@InterfaceType({
  description: 'An object with an opaque global id that `Query.node(id)` can fetch again.',
  resolveType: (value: { __typename?: string }) => value.__typename,
})
export abstract class Node {
  @Field(() => ID, { description: 'Opaque global id.' })
  id!: string;
}
