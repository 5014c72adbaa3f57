import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from './node.type.js';
import { AppRole } from './enums.js';
import { PageInfo } from './connection.type.js';
import { TicketKind, TicketStatus } from '../domain/tickets/ticket-kind.js';

registerEnumType(TicketKind, {
  name: 'TicketKind',
  description: 'What a ticket asks for.',
  valuesConfig: {
    RELEASE_APPROVAL: {
      description:
        "A release waits for an OWNER's (or admin's) go-ahead; opened by the release engine.",
    },
    ACCESS_REQUEST: { description: 'A role on an app (`requestAccess`); approving grants it.' },
  },
});
registerEnumType(TicketStatus, {
  name: 'TicketStatus',
  description: 'Where a ticket stands. Only OPEN tickets can be decided.',
  valuesConfig: {
    EXPIRED: {
      description:
        'Not decided within PHANTOM_TICKET_TTL_HOURS (an OPEN ticket past `expiresAt` reads EXPIRED at once).',
    },
    CANCELED: { description: 'Closed by the platform: what it asked about went away.' },
  },
});

@ObjectType('Ticket', {
  implements: Node,
  description:
    'An approval ticket: someone asks, an OWNER of the app or a platform admin decides (never the requester). ' +
    "Visible to its requester, the app's members and platform admins.",
})
export class TicketType extends Node {
  @Field(() => TicketKind) kind!: TicketKind;
  @Field(() => TicketStatus) status!: TicketStatus;
  @Field({
    description: "The app's name when the ticket was opened (kept after the app is deleted).",
  })
  appName!: string;
  @Field({ description: 'Username of who asked.' }) requester!: string;
  @Field(() => AppRole, { nullable: true, description: 'The role asked for (ACCESS_REQUEST).' })
  role!: AppRole | null;
  @Field() reason!: string;
  @Field(() => String, { nullable: true, description: 'Username of who approved or rejected it.' })
  decidedBy!: string | null;
  @Field(() => String, {
    nullable: true,
    description: "The decider's comment, or why the platform closed it.",
  })
  comment!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When it was decided or closed.' })
  decidedAt!: Date | null;
  @Field({ description: 'When an OPEN ticket expires.' }) expiresAt!: Date;
}

@ObjectType('TicketEdge')
export class TicketEdge {
  @Field() cursor!: string;
  @Field(() => TicketType) node!: TicketType;
}

@ObjectType('TicketConnection', { description: 'A page of tickets, newest first.' })
export class TicketConnection {
  @Field(() => [TicketEdge]) edges!: TicketEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
