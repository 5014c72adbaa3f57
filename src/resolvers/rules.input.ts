import { Field, InputType } from 'type-graphql';
import { Weekday } from './rules.type.js';

@InputType({
  description:
    'A weekly recurrence; times "HH:MM" local to the window\'s time zone; an endTime at or before startTime ends the next day.',
})
export class WeeklyRangeInput {
  @Field(() => [Weekday]) days!: Weekday[];
  @Field() startTime!: string;
  @Field() endTime!: string;
}

@InputType({
  description: 'A maintenance window: absolute (startsAt, endsAt) or weekly, never both.',
})
export class MaintenanceWindowInput {
  @Field() name!: string;
  @Field(() => [String], { description: 'Environments it freezes (at least one).' })
  envs!: string[];
  @Field(() => [String], {
    nullable: true,
    description: 'Apps it freezes; empty or absent: every app.',
  })
  apps?: string[] | null;
  @Field(() => Date, { nullable: true }) startsAt?: Date | null;
  @Field(() => Date, { nullable: true }) endsAt?: Date | null;
  @Field(() => WeeklyRangeInput, { nullable: true }) weekly?: WeeklyRangeInput | null;
  @Field(() => String, {
    nullable: true,
    description: 'IANA time zone of `weekly` (e.g. "Asia/Shanghai"). Default: UTC.',
  })
  timezone?: string | null;
  @Field({ description: 'Why: shown to whoever the window stops.' }) reason!: string;
}

@InputType({ description: 'A dependency rule: a minimum safe version, banned versions, or both.' })
export class DependencyRuleInput {
  @Field(() => String, { nullable: true, description: 'Default: the artifact.' }) name?:
    string | null;
  @Field({ description: 'e.g. "log4j-core".' }) artifact!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'Versions below this (Maven order: 2.9.0 < 2.17.1, 2.17.1-rc1 < 2.17.1) are refused.',
  })
  minVersion?: string | null;
  @Field(() => [String], { nullable: true, description: 'Exact versions refused.' })
  bannedVersions?: string[] | null;
  @Field(() => String, {
    nullable: true,
    description: 'What to do about it (e.g. "Upgrade to 2.17.1 or later: CVE-2021-44228").',
  })
  message?: string | null;
}

@InputType({ description: 'Exempts one app from one named rule until `expiresAt`.' })
export class WhitelistEntryInput {
  @Field() app!: string;
  @Field({ description: 'The name of a maintenance window or a dependency rule.' }) rule!: string;
  @Field() reason!: string;
  @Field() expiresAt!: Date;
}
