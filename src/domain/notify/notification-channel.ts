/** Where a notification route sends: one kind of chat robot or a generic webhook. */
export enum NotificationChannel {
  /** DingTalk custom robot; optional signing secret (`timestamp` + `sign` query params). */
  DINGTALK = 'DINGTALK',
  /** Feishu/Lark custom bot; optional signing secret (`timestamp` + `sign` in the body). */
  FEISHU = 'FEISHU',
  /** WeCom (企业微信) group robot: the key in the URL is the only credential; no signing. */
  WECOM = 'WECOM',
  /** Slack incoming webhook: the URL is the credential; no signing. */
  SLACK = 'SLACK',
  /** Any HTTP endpoint: JSON body signed with `X-Phantom-Signature` (secret required). */
  WEBHOOK = 'WEBHOOK',
}

/** Where a delivery stands. */
export enum NotificationDeliveryStatus {
  /** Waiting for its first attempt (also while its route's rate or a vendor's throttle holds it). */
  PENDING = 'PENDING',
  /** Accepted by the receiver. */
  SENT = 'SENT',
  /** Tried at least once; waits for its next attempt (backoff after a failure, the vendor's wait after a throttle). */
  RETRYING = 'RETRYING',
  /** Failed for good (a permanent error, or failing past the retry window): a dead letter, re-queued only by `retryNotificationDelivery`. */
  DEAD = 'DEAD',
}

/** Channels that sign with the route's secret; the others refuse one (there is nothing to sign with it). */
export const SIGNED_CHANNELS: ReadonlySet<NotificationChannel> = new Set([
  NotificationChannel.DINGTALK,
  NotificationChannel.FEISHU,
  NotificationChannel.WEBHOOK,
]);
