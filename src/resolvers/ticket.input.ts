import { Field, InputType } from 'type-graphql';
import { TicketKind, TicketStatus } from '../domain/tickets/ticket-kind.js';

@InputType({ description: 'Narrows `tickets`; all given fields must match.' })
export class TicketFilter {
  @Field(() => TicketStatus, {
    nullable: true,
    description: 'As tickets read now: OPEN ones past their expiry count as EXPIRED.',
  })
  status?: TicketStatus | null;
  @Field(() => TicketKind, { nullable: true }) kind?: TicketKind | null;
  @Field(() => String, { nullable: true, description: 'Tickets of this app (by name).' }) app?:
    string | null;
  @Field(() => Boolean, { nullable: true, description: 'true: only tickets you requested.' })
  mine?: boolean | null;
}
