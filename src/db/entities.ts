import { EngineJob } from '../engine/jobs/engine-job.entity.js';
import { User } from '../domain/people/user.entity.js';
import { ApiToken } from '../domain/people/api-token.entity.js';
import { App } from '../domain/apps/app.entity.js';
import { AppMember } from '../domain/apps/app-member.entity.js';
import { Environment } from '../domain/settings/environment.entity.js';
import { PlatformEventRow } from '../domain/events/platform-event.entity.js';
import { AuditEntry } from '../domain/audit/audit-entry.entity.js';
import { NotificationRoute } from '../domain/notify/notification-route.entity.js';
import { NotificationDelivery } from '../domain/notify/notification-delivery.entity.js';
import { NotifierCursor } from '../domain/notify/notifier-cursor.entity.js';
import { NotificationRouteState } from '../domain/notify/notification-route-state.entity.js';
import { Release } from '../domain/releases/release.entity.js';
import { ReleaseProgressRow } from '../domain/releases/release-progress.entity.js';
import { Ticket } from '../domain/tickets/ticket.entity.js';
import { MaintenanceWindow } from '../domain/rules/maintenance-window.entity.js';
import { DependencyRule } from '../domain/rules/dependency-rule.entity.js';
import { WhitelistEntry } from '../domain/rules/whitelist-entry.entity.js';
import { Build } from '../domain/builds/build.entity.js';
import { BuildLogLineRow } from '../domain/builds/build-log-line.entity.js';
import { EmbeddedClusterOwner } from '../k8s/embedded-cluster-owner.entity.js';

/** Every entity Phantom persists. Each domain module owns its own tables. */
export const entities = [
  User,
  ApiToken,
  App,
  AppMember,
  Environment,
  PlatformEventRow,
  AuditEntry,
  NotificationRoute,
  NotificationDelivery,
  NotifierCursor,
  NotificationRouteState,
  Release,
  ReleaseProgressRow,
  Ticket,
  EmbeddedClusterOwner,
  MaintenanceWindow,
  DependencyRule,
  WhitelistEntry,
  EngineJob,
  Build,
  BuildLogLineRow,
];
