import type { EntityManager } from '@mikro-orm/core';
import { PlatformEventRow } from './platform-event.entity.js';

/** Every platform event type. Payloads never carry secrets. */
export enum PlatformEventType {
  APP_CREATED = 'APP_CREATED',
  APP_UPDATED = 'APP_UPDATED',
  APP_DELETED = 'APP_DELETED',
  MEMBER_CHANGED = 'MEMBER_CHANGED',
  BUILD_STARTED = 'BUILD_STARTED',
  BUILD_SUCCEEDED = 'BUILD_SUCCEEDED',
  BUILD_FAILED = 'BUILD_FAILED',
  RELEASE_CREATED = 'RELEASE_CREATED',
  RELEASE_STARTED = 'RELEASE_STARTED',
  RELEASE_SUCCEEDED = 'RELEASE_SUCCEEDED',
  RELEASE_FAILED = 'RELEASE_FAILED',
  RELEASE_ROLLED_BACK = 'RELEASE_ROLLED_BACK',
  RELEASE_CANCELED = 'RELEASE_CANCELED',
  TICKET_CREATED = 'TICKET_CREATED',
  TICKET_APPROVED = 'TICKET_APPROVED',
  TICKET_REJECTED = 'TICKET_REJECTED',
  TICKET_EXPIRED = 'TICKET_EXPIRED',
  TICKET_CANCELED = 'TICKET_CANCELED',
  WORKLOAD_DEPLOYED = 'WORKLOAD_DEPLOYED',
  WORKLOAD_RESTARTED = 'WORKLOAD_RESTARTED',
  WORKLOAD_SCALED = 'WORKLOAD_SCALED',
  WORKLOAD_REMOVED = 'WORKLOAD_REMOVED',
  POD_DELETED = 'POD_DELETED',
  SETTINGS_CHANGED = 'SETTINGS_CHANGED',
  TOKEN_CREATED = 'TOKEN_CREATED',
  TOKEN_REVOKED = 'TOKEN_REVOKED',
}

/**
 * `payload.setting` of the SETTINGS_CHANGED events about notification routes (written by
 * src/domain/notify/notification-route.service.ts): only those who may read the routes see
 * them (see `canSeeEvent`).
 */
export const NOTIFICATION_ROUTE_SETTING = 'notificationRoute';

export interface NewPlatformEvent {
  type: PlatformEventType;
  actor?: string | null;
  app?: string | null;
  env?: string | null;
  payload?: Record<string, unknown>;
}

/**
 * Adds an outbox row to `em`'s unit of work. Call it inside the transaction that makes the
 * change, so the event exists if and only if the change committed.
 */
export function recordEvent(em: EntityManager, e: NewPlatformEvent): PlatformEventRow {
  const row = em.create(PlatformEventRow, {
    type: e.type,
    actor: e.actor ?? null,
    app: e.app ?? null,
    env: e.env ?? null,
    payload: e.payload ?? {},
  });
  em.persist(row);
  return row;
}
