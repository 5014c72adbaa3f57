import type { EntityManager } from '@mikro-orm/core';
import type { Viewer } from '../domain/people/viewer.js';
import type { DomainContext } from '../domain/shared/domain-context.js';
import type { AppLoaders } from '../domain/apps/app.loaders.js';
import type { UserLoaders } from '../domain/people/user.loaders.js';
import type { EnvironmentLoaders } from '../domain/settings/environment.loaders.js';
import type { PlatformServices } from '../server/services.js';
import type { ReleaseLoaders } from '../domain/releases/release.loaders.js';

/**
 * Per-request (or per-subscription) state: the caller, a forked EntityManager and fresh
 * dataloaders. Nothing request-scoped is global.
 */
export interface GraphQLContext {
  viewer: Viewer | null;
  em: EntityManager;
  domain: DomainContext;
  loaders: AppLoaders & UserLoaders & EnvironmentLoaders & ReleaseLoaders;
  /** Set for mutations (by the server): loaders read the primary, so answers show their own writes. */
  reads: { primary: boolean };
  /** Services that live for the whole process (k8s runtime, feeds, …), typed. */
  services: PlatformServices;
}
