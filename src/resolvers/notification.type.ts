import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { NotificationChannel, NotificationDeliveryStatus } from '../domain/notify/notification-channel.js';
import { PageInfo } from './connection.type.js';

registerEnumType(NotificationChannel, {
  name: 'NotificationChannel',
  description: 'Where a notification route sends.',
  valuesConfig: {
    DINGTALK: { description: 'DingTalk custom robot webhook; with a secret, requests are signed (timestamp + sign query parameters).' },
    FEISHU: { description: 'Feishu/Lark custom bot webhook; with a secret, requests are signed (timestamp + sign in the body).' },
    WECOM: { description: 'WeCom group robot webhook (the key in the URL is the credential; no secret).' },
    SLACK: { description: 'Slack incoming webhook (the URL is the credential; no secret).' },
    WEBHOOK: { description: 'Any HTTP endpoint: JSON body, `X-Phantom-Signature: sha256=<hex HMAC-SHA256(secret, body)>` and `X-Phantom-Timestamp` (also in the signed body). Needs a secret.' },
  },
});
registerEnumType(NotificationDeliveryStatus, { name: 'NotificationDeliveryStatus', description: 'Where a notification delivery stands.' });

@ObjectType('NotificationRoute', { description: 'Which platform events go to which chat group. The secret is write-only: only `hasSecret` tells whether one is set.' })
export class NotificationRouteType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => String, { nullable: true, description: 'The app whose events it sends; null: a global route (every app; admins manage it).' }) app!: string | null;
  @Field(() => String, { nullable: true, description: 'Only events of this environment; null: every environment.' }) env!: string | null;
  @Field(() => [String], { description: 'Platform event types it sends; empty: all of them (events of no app and no environment only when listed).' }) eventTypes!: string[];
  @Field(() => NotificationChannel) channel!: NotificationChannel;
  @Field({ description: 'The webhook URL as scheme and host, its path and query masked (`https://open.feishu.cn/***`): robots carry their credential there. Nobody reads it back in full.' }) webhookUrl!: string;
  @Field({ description: 'Whether a signing secret is set. The secret itself is never returned.' }) hasSecret!: boolean;
  @Field() enabled!: boolean;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType('NotificationRouteEdge')
export class NotificationRouteEdge {
  @Field() cursor!: string;
  @Field(() => NotificationRouteType) node!: NotificationRouteType;
}

@ObjectType('NotificationRouteConnection', { description: 'A page of notification routes, oldest first.' })
export class NotificationRouteConnection {
  @Field(() => [NotificationRouteEdge]) edges!: NotificationRouteEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType('NotificationDelivery', { description: 'One platform event sent (or being sent) through one route.' })
export class NotificationDeliveryType {
  @Field(() => ID) id!: string;
  @Field(() => ID, { description: 'The route\'s id (the route may since have been deleted).' }) routeId!: string;
  @Field(() => String, { nullable: true, description: 'The route\'s app; null for a global route.' }) app!: string | null;
  @Field({ description: 'The platform event\'s id.' }) eventId!: string;
  @Field() eventType!: string;
  @Field(() => NotificationDeliveryStatus) status!: NotificationDeliveryStatus;
  @Field(() => Int, { description: 'Attempts made so far.' }) attempts!: number;
  @Field(() => String, { nullable: true, description: 'Why the last attempt failed.' }) lastError!: string | null;
  @Field(() => Date, { nullable: true, description: 'When the next attempt is due (PENDING, RETRYING).' }) nextAttemptAt!: Date | null;
  @Field(() => Date, { nullable: true }) sentAt!: Date | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType('NotificationDeliveryEdge')
export class NotificationDeliveryEdge {
  @Field() cursor!: string;
  @Field(() => NotificationDeliveryType) node!: NotificationDeliveryType;
}

@ObjectType('NotificationDeliveryConnection', { description: 'A page of notification deliveries, newest first.' })
export class NotificationDeliveryConnection {
  @Field(() => [NotificationDeliveryEdge]) edges!: NotificationDeliveryEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
