import { Field, ID, InputType } from 'type-graphql';
import { ReleaseStatus } from '../domain/releases/release-model.js';

@InputType({
  description:
    "A new release: the app's container spec with `image`, to every target of `env`, wave by wave.",
})
export class CreateReleaseInput {
  @Field() app!: string;
  @Field() env!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'The image to release. Give `image` or `buildId`; with neither, the default branch is built first.',
  })
  image?: string | null;
  @Field(() => ID, {
    nullable: true,
    description:
      "Release this build's image (a SUCCEEDED build of the same app); its scanned dependencies are checked against the dependency rules.",
  })
  buildId?: string | null;
  @Field(() => String, { nullable: true, description: 'Why (at most 2000 characters).' })
  description?: string | null;
}

@InputType({ description: 'Filters on releases; all given ones must match.' })
export class ReleaseFilter {
  @Field(() => String, { nullable: true }) app?: string | null;
  @Field(() => String, { nullable: true }) env?: string | null;
  @Field(() => ReleaseStatus, { nullable: true }) status?: ReleaseStatus | null;
  @Field(() => String, { nullable: true, description: 'Username of who asked for it.' })
  createdBy?: string | null;
}
