import { Field, ID, InputType } from 'type-graphql';
import {
  NotificationChannel,
  NotificationDeliveryStatus,
} from '../domain/notify/notification-channel.js';

@InputType({
  description:
    "A new notification route. Without `app` it is global (admins only); with one, the app's OWNERs may create it.",
})
export class CreateNotificationRouteInput {
  @Field({ description: '1–100 characters.' }) name!: string;
  @Field(() => String, { nullable: true, description: 'App name; absent: a global route.' }) app?:
    string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Environment name; absent: every environment.',
  })
  env?: string | null;
  @Field(() => [String], {
    nullable: true,
    description: 'Platform event types (e.g. RELEASE_FAILED); absent or empty: all.',
  })
  eventTypes?: string[] | null;
  @Field(() => NotificationChannel) channel!: NotificationChannel;
  @Field({ description: 'Webhook URL, http or https. Write-only in full: reads show it masked.' })
  webhookUrl!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'Signing secret (DINGTALK, FEISHU optional; WEBHOOK required; WECOM, SLACK none). Write-only.',
  })
  secret?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Default true.' }) enabled?: boolean | null;
}

@InputType({
  description:
    'Changes to a route; absent fields stay. `env: null` means every environment again. The app cannot change.',
})
export class UpdateNotificationRouteInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) env?: string | null;
  @Field(() => [String], { nullable: true, description: 'An empty list: all event types.' })
  eventTypes?: string[] | null;
  @Field(() => NotificationChannel, { nullable: true }) channel?: NotificationChannel | null;
  @Field(() => String, { nullable: true }) webhookUrl?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'A new signing secret; absent keeps the current one.',
  })
  secret?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Removes the secret.' }) clearSecret?:
    boolean | null;
  @Field(() => Boolean, { nullable: true }) enabled?: boolean | null;
}

@InputType({ description: 'Filters for `notificationDeliveries`; all given ones must match.' })
export class NotificationDeliveryFilter {
  @Field(() => ID, { nullable: true, description: 'A NotificationRoute id.' }) route?:
    string | null;
  @Field(() => NotificationDeliveryStatus, { nullable: true })
  status?: NotificationDeliveryStatus | null;
  @Field(() => String, { nullable: true, description: "The route's app." }) app?: string | null;
}
