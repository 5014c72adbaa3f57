import { GraphQLError } from 'graphql';
import type { Platform } from './platform.js';
import type { GraphQLContext } from '../resolvers/context.type.js';
import type { Viewer } from '../domain/people/viewer.js';
import { authenticate } from '../domain/people/auth.service.js';
import { DomainError } from '../domain/shared/errors.js';
import { createAppLoaders } from '../domain/apps/app.loaders.js';
import { createUserLoaders } from '../domain/people/user.loaders.js';
import { createEnvironmentLoaders } from '../domain/settings/environment.loaders.js';
import { createReleaseLoaders } from '../domain/releases/release.loaders.js';

/** Resolves a bearer header to a viewer, as a GraphQL error with an HTTP 401 when it is bad (503 when the session store is down). */
export async function viewerFromHeader(
  platform: Platform,
  header: string | undefined | null,
): Promise<Viewer | null> {
  try {
    return await authenticate(platform.orm.em.fork(), platform.deps, header);
  } catch (e) {
    if (e instanceof DomainError) {
      // UNAVAILABLE (the session store is down) is not the client's fault: 503, so it retries.
      throw new GraphQLError(e.message, {
        extensions: { code: e.code, http: { status: e.code === 'UNAVAILABLE' ? 503 : 401 } },
      });
    }
    throw e;
  }
}

/**
 * A fresh context: forked EntityManager and new dataloaders (per request, or per
 * subscription). `clientAddress`: the caller's address as the HTTP layer resolved it.
 */
export function buildContext(
  platform: Platform,
  viewer: Viewer | null,
  clientAddress: string | null = null,
): GraphQLContext {
  const em = platform.orm.em.fork();
  const envLoaders = createEnvironmentLoaders(em, () => ctx.reads.primary);
  const domain = {
    em,
    viewer,
    deps: platform.deps,
    clientAddress,
    environmentByName: envLoaders.environmentByName,
  };
  const ctx: GraphQLContext = {
    viewer,
    em,
    domain,
    // An object, not a flag: Apollo hands plugins a shallow copy of the context.
    reads: { primary: false },
    loaders: {
      ...createAppLoaders(em, () => ctx.reads.primary),
      ...createUserLoaders(em, () => ctx.reads.primary),
      ...envLoaders,
      ...createReleaseLoaders(em),
    },
    services: platform.services,
  };
  return ctx;
}
