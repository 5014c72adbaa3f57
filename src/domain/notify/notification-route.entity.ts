import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { NotificationChannel } from './notification-channel.js';

/**
 * A rule "events like these go to that chat group". `app` null = a global route (admins
 * manage it); otherwise the app's OWNERs do. `url` and `secret` are credentials: they leave
 * this module only masked (`url`) or as a flag (`hasSecret`), never in events or logs.
 */
@Entity({ tableName: 'notification_routes' })
@Index({ properties: ['app'] })
@Index({ properties: ['appId'] })
export class NotificationRoute {
  [OptionalProps]?:
    'app' | 'appId' | 'env' | 'secret' | 'enabled' | 'createdBy' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 100 })
  name!: string;

  /** App name; null = every app (a global route). Shown to people; matching and access use `appId`. */
  @Property({ type: 'string', length: 40, nullable: true })
  app?: string | null;

  /**
   * The app's id (apps table) when the route was created: a route belongs to that app, not
   * to its name. A later app reusing a deleted app's name has another id, so it neither sees
   * nor triggers the old routes. Null with `app` null: a global route; null with `app` set:
   * an app route whose app no longer existed when ids were introduced (matches nothing).
   */
  @Property({ type: 'integer', unsigned: true, nullable: true })
  appId?: number | null;

  /** Environment name; null = every environment. */
  @Property({ type: 'string', length: 40, nullable: true })
  env?: string | null;

  /** Platform event types to send; empty = all of them. */
  @Property({ type: 'json' })
  eventTypes!: string[];

  @Enum({ items: () => NotificationChannel, type: 'string', length: 16 })
  channel!: NotificationChannel;

  /** Webhook URL; may carry a credential (DingTalk `access_token`, WeCom `key`, Slack path). */
  @Property({ type: 'string', length: 1000 })
  url!: string;

  /**
   * Signing secret, stored as given because HMAC needs it at send time. Write-only through
   * the API.
   */
  @Property({ type: 'string', length: 200, nullable: true })
  secret?: string | null;

  @Property({ type: 'boolean' })
  enabled: boolean = true;

  @Property({ type: 'string', length: 64, nullable: true })
  createdBy?: string | null;

  @Property({ type: Date, length: 3 })
  createdAt: Date = new Date();

  @Property({ type: Date, length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
