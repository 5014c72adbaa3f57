import { Field, InputType } from 'type-graphql';
import { PlatformEventType } from './platform-event.type.js';

@InputType({ description: 'Filters for platform events; all given filters must match.' })
export class PlatformEventFilter {
  @Field(() => [PlatformEventType], {
    nullable: true,
    description: 'Any of these types (default: all).',
  })
  types?: PlatformEventType[] | null;

  @Field(() => String, { nullable: true, description: 'Events of this app.' })
  app?: string | null;

  @Field(() => String, { nullable: true, description: 'Events of this environment.' })
  env?: string | null;

  @Field(() => String, { nullable: true, description: 'Events caused by this username.' })
  actor?: string | null;

  @Field(() => Date, { nullable: true, description: 'Events recorded at or after this time.' })
  since?: Date | null;
}
