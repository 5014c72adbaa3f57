import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  NotificationChannel,
  NotificationDeliveryStatus,
} from '../domain/notify/notification-channel.js';
import { PageInfo } from './connection.type.js';

registerEnumType(NotificationChannel, {
  name: 'NotificationChannel',
  description: 'Where a notification route sends.',
  valuesConfig: {
    DINGTALK: {
      description:
        'DingTalk custom robot webhook; with a secret, requests are signed (timestamp + sign query parameters).',
    },
    FEISHU: {
      description:
        'Feishu/Lark custom bot webhook; with a secret, requests are signed (timestamp + sign in the body).',
    },
    WECOM: {
      description: 'WeCom group robot webhook (the key in the URL is the credential; no secret).',
    },
    SLACK: { description: 'Slack incoming webhook (the URL is the credential; no secret).' },
    WEBHOOK: {
      description:
        'Any HTTP endpoint: JSON body, `X-Phantom-Signature: sha256=<hex HMAC-SHA256(secret, body)>` and `X-Phantom-Timestamp` (also in the signed body). Needs a secret.',
    },
  },
});
registerEnumType(NotificationDeliveryStatus, {
  name: 'NotificationDeliveryStatus',
  description: 'Where a notification delivery stands.',
});

@ObjectType('NotificationRouteHealth', {
  description:
    "How sending through a route goes: the vendor's throttle and permanent failures (wrong secret, unknown token, gone webhook).",
})
export class NotificationRouteHealthType {
  @Field({
    description:
      'False after several permanent failures in a row (PHANTOM_NOTIFY_UNHEALTHY_AFTER, default 3), until a delivery succeeds again.',
  })
  healthy!: boolean;
  @Field(() => Date, { nullable: true }) unhealthySince!: Date | null;
  @Field(() => Int, { description: 'Permanent failures since the last success.' })
  permanentFailures!: number;
  @Field(() => String, {
    nullable: true,
    description: "The last permanent failure: the vendor's code and message, and what to fix.",
  })
  lastPermanentError!: string | null;
  @Field(() => Date, {
    nullable: true,
    description:
      'The vendor throttled the route (429, DingTalk 130101, WeCom 45009, Feishu 11232): its queue waits until then.',
  })
  throttledUntil!: Date | null;
  @Field(() => String, { nullable: true }) throttleReason!: string | null;
}

@ObjectType('NotificationAttempt', { description: 'One attempt to send a delivery.' })
export class NotificationAttemptType {
  @Field() at!: string;
  @Field({
    description:
      'SENT; FAILED (retried with backoff); THROTTLED (the vendor asked to wait; does not count as a failure); PERMANENT (ended at once: fix the route); DEAD (failed past the retry window).',
  })
  outcome!: string;
  @Field(() => Int, { nullable: true }) httpStatus!: number | null;
  @Field(() => String, {
    nullable: true,
    description:
      "The vendor's own error code (DingTalk/WeCom `errcode`, Feishu `code`, Slack's error word).",
  })
  vendorCode!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => ID, {
    nullable: true,
    description: "The digest this attempt sent it in (the id of the digest's first delivery).",
  })
  digestId!: string | null;
}

@ObjectType('NotificationRoute', {
  description:
    'Which platform events go to which chat group. The secret is write-only: only `hasSecret` tells whether one is set.',
})
export class NotificationRouteType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'The app whose events it sends; null: a global route (every app; admins manage it).',
  })
  app!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Only events of this environment; null: every environment.',
  })
  env!: string | null;
  @Field(() => [String], {
    description:
      'Platform event types it sends; empty: all of them (events of no app and no environment only when listed).',
  })
  eventTypes!: string[];
  @Field(() => NotificationChannel) channel!: NotificationChannel;
  @Field({
    description:
      'The webhook URL as scheme and host, its path and query masked (`https://open.feishu.cn/***`): robots carry their credential there. Nobody reads it back in full.',
  })
  webhookUrl!: string;
  @Field({ description: 'Whether a signing secret is set. The secret itself is never returned.' })
  hasSecret!: boolean;
  @Field() enabled!: boolean;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => NotificationRouteHealthType) health!: NotificationRouteHealthType;
}

@ObjectType('NotificationRouteEdge')
export class NotificationRouteEdge {
  @Field() cursor!: string;
  @Field(() => NotificationRouteType) node!: NotificationRouteType;
}

@ObjectType('NotificationRouteConnection', {
  description: 'A page of notification routes, oldest first.',
})
export class NotificationRouteConnection {
  @Field(() => [NotificationRouteEdge]) edges!: NotificationRouteEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType('NotificationDelivery', {
  description: 'One platform event sent (or being sent) through one route.',
})
export class NotificationDeliveryType {
  @Field(() => ID) id!: string;
  @Field(() => ID, { description: "The route's id (the route may since have been deleted)." })
  routeId!: string;
  @Field(() => String, { nullable: true, description: "The route's app; null for a global route." })
  app!: string | null;
  @Field({ description: "The platform event's id." }) eventId!: string;
  @Field() eventType!: string;
  @Field(() => NotificationDeliveryStatus) status!: NotificationDeliveryStatus;
  @Field(() => Int, { description: 'Attempts made so far.' }) attempts!: number;
  @Field(() => String, {
    nullable: true,
    description:
      'Why the latest failed attempt failed (kept after a later success; every attempt is in `attemptLog`).',
  })
  lastError!: string | null;
  @Field(() => Date, {
    nullable: true,
    description: 'When the next attempt is due (PENDING, RETRYING).',
  })
  nextAttemptAt!: Date | null;
  @Field(() => Date, { nullable: true }) sentAt!: Date | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => [NotificationAttemptType], {
    description: 'Every attempt, oldest first (the latest 30).',
  })
  attemptLog!: NotificationAttemptType[];
  @Field(() => ID, {
    nullable: true,
    description:
      "When several waiting events went out as one digest message (the route had more waiting than its rate allows): the id of the digest's first delivery.",
  })
  digestId!: string | null;
}

@ObjectType('NotificationDeliveryEdge')
export class NotificationDeliveryEdge {
  @Field() cursor!: string;
  @Field(() => NotificationDeliveryType) node!: NotificationDeliveryType;
}

@ObjectType('NotificationDeliveryConnection', {
  description: 'A page of notification deliveries, newest first.',
})
export class NotificationDeliveryConnection {
  @Field(() => [NotificationDeliveryEdge]) edges!: NotificationDeliveryEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
