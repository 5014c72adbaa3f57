/**
 * Per-request loaders of the releases module. `App.releases` on a page of apps is one
 * statement per (env, page size) instead of one per app.
 */
import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/core';
import { listReleaseRowsForApps, toReleaseRecord } from './release.repository.js';
import type { ReleaseRecord } from './release-model.js';

export interface AppReleasesKey {
  appId: number;
  env: string | null;
  /** Page size: the loader reads one more to answer `hasNextPage`. */
  first: number;
}

export function createReleaseLoaders(em: EntityManager) {
  return {
    /** The first page of an app's releases, newest first (`first + 1` rows: the extra one means a next page). */
    appReleases: new DataLoader<AppReleasesKey, ReleaseRecord[], string>(
      async (keys) => {
        const groups = new Map<string, AppReleasesKey[]>();
        for (const k of keys) {
          const g = `${k.env ?? ''}\u0000${k.first}`;
          groups.set(g, [...(groups.get(g) ?? []), k]);
        }
        const out = new Map<string, ReleaseRecord[]>();
        for (const group of groups.values()) {
          const { env, first } = group[0];
          const rows = await listReleaseRowsForApps(
            em,
            [...new Set(group.map((k) => k.appId))],
            env,
            first + 1,
          );
          for (const k of group) out.set(keyOf(k), []);
          for (const r of rows)
            out.get(keyOf({ appId: r.appId, env, first }))?.push(toReleaseRecord(r));
        }
        return keys.map((k) => out.get(keyOf(k)) ?? []);
      },
      { cacheKeyFn: keyOf },
    ),
  };
}

const keyOf = (k: AppReleasesKey): string => `${k.appId}\u0000${k.env ?? ''}\u0000${k.first}`;

export type ReleaseLoaders = ReturnType<typeof createReleaseLoaders>;
