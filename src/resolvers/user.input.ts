import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A new user (admins only).' })
export class CreateUserInput {
  @Field({ description: 'Lowercase letters, digits, ".", "_", "-"; at most 64.' })
  username!: string;
  @Field(() => String, {
    nullable: true,
    description: '8–200 characters; without one the user signs in with API tokens only.',
  })
  password?: string | null;
  @Field(() => String, { nullable: true }) displayName?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) isAdmin?: boolean | null;
}
