/**
 * The process-wide services of one Phantom process, typed: the composition root
 * (`platform.ts`, `main.ts`, `worker.ts`, `src/engine/`) fills them in as each role starts
 * its parts; resolvers reach them through the request context. A part that does not run in
 * this process (the relay in an api-only replica, say) is absent.
 */
import type { K8sServices } from '../k8s/k8s.module.js';
import type { PlatformEventFeed } from '../domain/events/platform-event-feed.js';
import type { OutboxRelay } from '../domain/events/outbox-relay.js';
import type { Notifier } from '../domain/notify/notifier.js';
import type { ReleaseProgressFeed } from '../domain/releases/release-progress-feed.js';
import type { ReleaseEngine } from '../engine/releases/release-engine.js';
import type { PeriodicJobs } from '../engine/jobs/periodic-jobs.js';
import type { BuildLogFeed } from '../domain/builds/build-log-feed.js';
import type { BuildEngine } from '../engine/builds/build-engine.js';
import type { CredentialChecks } from './ws-credential-watch.js';

export interface PlatformServices {
  /** Clusters, informers, watchers, pod events (every role). */
  k8s?: K8sServices;
  /** Live platform events for subscriptions (api role). */
  platformEvents?: PlatformEventFeed;
  /** The outbox relay (worker role). */
  platformEventsRelay?: OutboxRelay;
  /** Chat notifications (worker role). */
  notifier?: Notifier;
  /** Live release progress for subscriptions (api role). */
  releaseProgress?: ReleaseProgressFeed;
  /** The release engine (worker role). */
  releaseEngine?: ReleaseEngine;
  /** The worker role's periodic jobs (retention). */
  periodicJobs?: PeriodicJobs;
  /** Live build logs for subscriptions (api role). */
  buildLog?: BuildLogFeed;
  /** The build engine (worker role). */
  buildEngine?: BuildEngine;
  /** Re-checks of live WebSockets' credentials, shared per credential (api role; created on first use). */
  credentialChecks?: CredentialChecks;
}
