import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { JSONResolver } from 'graphql-scalars';
import { PageInfo } from './connection.type.js';

export enum AuditOutcome {
  OK = 'OK',
  ERROR = 'ERROR',
}
registerEnumType(AuditOutcome, { name: 'AuditOutcome', description: 'How a mutation ended.' });

@ObjectType('AuditEntry', {
  description: 'One root field of a mutation request: who, when, what, on what, and how it ended.',
})
export class AuditEntryObject {
  @Field(() => ID) id!: string;
  @Field() at!: Date;
  @Field(() => String, {
    nullable: true,
    description: 'Username of the caller; null when not signed in (e.g. `login`).',
  })
  actor!: string | null;
  @Field(() => String, { nullable: true, description: 'Operation name sent by the client.' })
  operationName!: string | null;
  @Field({ description: 'The root mutation field (one entry per root field of a request).' })
  rootField!: string;
  @Field(() => String, {
    nullable: true,
    description: 'What was acted on (an app, user, …), when known.',
  })
  target!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'The app acted on, when the mutation targets one.',
  })
  app!: string | null;
  @Field(() => AuditOutcome) outcome!: AuditOutcome;
  @Field(() => String, { nullable: true, description: '`extensions.code` of the first error.' })
  errorCode!: string | null;
  @Field(() => JSONResolver, {
    description:
      'Arguments per root field, with passwords, tokens, secrets and webhook URL secrets redacted.',
  })
  args!: Record<string, unknown>;
}

@ObjectType('AuditEntryEdge')
export class AuditEntryEdge {
  @Field() cursor!: string;
  @Field(() => AuditEntryObject) node!: AuditEntryObject;
}

@ObjectType('AuditEntryConnection', { description: 'A page of audit entries, newest first.' })
export class AuditEntryConnection {
  @Field(() => [AuditEntryEdge]) edges!: AuditEntryEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@InputType('AuditFilter', { description: 'Filters for `auditLog`; all given filters must match.' })
export class AuditFilterInput {
  @Field(() => String, { nullable: true, description: 'Entries of this caller (username).' })
  actor?: string | null;
  @Field(() => String, { nullable: true, description: 'Entries about this app.' }) app?:
    string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Root field (e.g. `updateApp`) or client operation name.',
  })
  operation?: string | null;
  @Field(() => Date, { nullable: true, description: 'Entries at or after this time.' })
  since?: Date | null;
}
