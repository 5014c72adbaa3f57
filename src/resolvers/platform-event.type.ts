import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { JSONResolver } from 'graphql-scalars';
import { PageInfo } from './connection.type.js';
import { PlatformEventType } from '../domain/events/event-recorder.js';

registerEnumType(PlatformEventType, { name: 'PlatformEventType', description: 'What happened.' });

export enum PlatformEventOrder {
  OLDEST_FIRST = 'OLDEST_FIRST',
  NEWEST_FIRST = 'NEWEST_FIRST',
}
registerEnumType(PlatformEventOrder, {
  name: 'PlatformEventOrder',
  description: 'Order of `platformEvents` pages, by event id.',
});

export { PlatformEventType };

@ObjectType('PlatformEvent', {
  description:
    'A state change in Phantom, recorded in the same transaction as the change. Delivered at least once to stream consumers; dedupe by `id`.',
})
export class PlatformEventObject {
  @Field(() => ID, {
    description:
      'Decimal number, increasing in commit order with no gaps. Pass the last one you saw as `after` to resume a subscription.',
  })
  id!: string;

  @Field(() => PlatformEventType)
  type!: PlatformEventType;

  @Field({ description: 'When the change was made.' })
  at!: Date;

  @Field(() => String, {
    nullable: true,
    description: 'Username of who caused it; null for the platform itself.',
  })
  actor!: string | null;

  @Field(() => String, { nullable: true, description: 'Name of the app concerned, if any.' })
  app!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Name of the environment concerned, if any.',
  })
  env!: string | null;

  @Field(() => JSONResolver, { description: 'Details, by type. Never holds secrets.' })
  payload!: Record<string, unknown>;
}

@ObjectType('PlatformEventEdge')
export class PlatformEventEdge {
  @Field() cursor!: string;
  @Field(() => PlatformEventObject) node!: PlatformEventObject;
}

@ObjectType('PlatformEventConnection', {
  description: 'A page of platform events, oldest first unless `order: NEWEST_FIRST`.',
})
export class PlatformEventConnection {
  @Field(() => [PlatformEventEdge]) edges!: PlatformEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
