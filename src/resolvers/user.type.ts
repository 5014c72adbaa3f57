import { Field, ID, ObjectType } from 'type-graphql';
import { Node } from './node.type.js';
import { TokenScope } from './enums.js';
import { PageInfo } from './connection.type.js';

@ObjectType('User', { implements: Node, description: 'A person or bot.' })
export class UserType extends Node {
  @Field() username!: string;
  @Field() displayName!: string;
  @Field(() => Boolean, {
    nullable: true,
    description:
      "Whether the user is a platform admin. Shown for your own user, and to platform admins (ADMIN-scoped credential) for everyone; null otherwise: who holds admin rights is not every reader's business.",
  })
  isAdmin!: boolean | null;
}

@ObjectType('UserEdge')
export class UserEdge {
  @Field() cursor!: string;
  @Field(() => UserType) node!: UserType;
}

@ObjectType('UserConnection', { description: 'A page of users, ordered by username.' })
export class UserConnection {
  @Field(() => [UserEdge]) edges!: UserEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType('Session', {
  description: 'A signed-in session. Send `Authorization: Bearer <token>`.',
})
export class SessionType {
  @Field({ description: 'Session secret; keep it private.' }) token!: string;
  @Field() expiresAt!: Date;
  @Field(() => UserType) user!: UserType;
}

@ObjectType('ApiToken', {
  description: 'A long-lived API token (its secret is only shown when created).',
})
export class ApiTokenType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => [TokenScope]) scopes!: TokenScope[];
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
}

@ObjectType('CreatedApiToken', { description: 'A new API token and, this once, its secret.' })
export class CreatedApiTokenType {
  @Field({ description: 'The secret. Shown once; Phantom stores only its hash.' }) token!: string;
  @Field(() => ApiTokenType) apiToken!: ApiTokenType;
}
