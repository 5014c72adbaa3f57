import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Weekday } from '../domain/rules/rule-model.js';

registerEnumType(Weekday, {
  name: 'Weekday',
  description: 'A day of a weekly maintenance window, local to its time zone.',
});

export { Weekday };

@ObjectType('WeeklyRange', {
  description:
    'On each of `days`, from `startTime` to `endTime` ("HH:MM", local to the window\'s time zone); an endTime at or before startTime ends the next day.',
})
export class WeeklyRangeType {
  @Field(() => [Weekday]) days!: Weekday[];
  @Field() startTime!: string;
  @Field() endTime!: string;
}

@ObjectType('MaintenanceWindow', {
  description:
    'A freeze: releases of its apps (all apps when `apps` is empty) to its envs fail their precheck while it is active.',
})
export class MaintenanceWindowType {
  @Field(() => ID) id!: string;
  @Field({ description: 'Unique; whitelist entries name it.' }) name!: string;
  @Field(() => [String]) envs!: string[];
  @Field(() => [String], { description: 'Empty: every app.' }) apps!: string[];
  @Field(() => Date, {
    nullable: true,
    description: "An absolute window's start (null for a weekly one).",
  })
  startsAt!: Date | null;
  @Field(() => Date, {
    nullable: true,
    description: "An absolute window's end (null for a weekly one).",
  })
  endsAt!: Date | null;
  @Field(() => WeeklyRangeType, {
    nullable: true,
    description: "A weekly window's recurrence (null for an absolute one).",
  })
  weekly!: WeeklyRangeType | null;
  @Field({ description: 'IANA time zone of `weekly`.' }) timezone!: string;
  @Field() reason!: string;
  @Field(() => Date, {
    nullable: true,
    description: 'When the occurrence running now ends; null when the window is not active now.',
  })
  activeUntil!: Date | null;
  @Field() createdBy!: string;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType('DependencyRule', {
  description:
    'A build carrying `artifact` below `minVersion`, or at one of `bannedVersions` (Maven version order), fails the release precheck.',
})
export class DependencyRuleType {
  @Field(() => ID) id!: string;
  @Field({ description: 'Unique; whitelist entries name it. The artifact unless given.' })
  name!: string;
  @Field({
    description:
      'The artifact name as builds report it (e.g. "log4j-core"); compared case-insensitively.',
  })
  artifact!: string;
  @Field(() => String, { nullable: true }) minVersion!: string | null;
  @Field(() => [String]) bannedVersions!: string[];
  @Field({ description: 'What to do about it; shown in the failed precheck.' }) message!: string;
  @Field() createdBy!: string;
  @Field() createdAt!: Date;
}

@ObjectType('WhitelistEntry', {
  description:
    'An app exempt from one named rule (a maintenance window or a dependency rule) until `expiresAt`.',
})
export class WhitelistEntryType {
  @Field(() => ID) id!: string;
  @Field({ description: "The app's name." }) app!: string;
  @Field({ description: 'The name of the maintenance window or dependency rule it exempts from.' })
  rule!: string;
  @Field() reason!: string;
  @Field() expiresAt!: Date;
  @Field({ description: 'Past `expiresAt`: it applies no more.' }) expired!: boolean;
  @Field() createdBy!: string;
  @Field() createdAt!: Date;
}

@ObjectType('Settings', {
  description:
    'The admin rules that feed release prechecks. Admins edit them; every signed-in user reads them.',
})
export class SettingsType {
  @Field(() => [MaintenanceWindowType]) maintenanceWindows!: MaintenanceWindowType[];
  @Field(() => [DependencyRuleType]) dependencyRules!: DependencyRuleType[];
  @Field(() => [WhitelistEntryType], {
    description: 'Every entry, expired ones included, latest expiry first.',
  })
  whitelist!: WhitelistEntryType[];
  @Field({
    description:
      'Whether you may create and delete these rules: a platform admin with an ADMIN-scoped credential.',
  })
  viewerCanEdit!: boolean;
}
