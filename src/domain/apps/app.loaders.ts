import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/core';
import { findMemberRows, groupMembers, type MemberRow } from './app.repository.js';
import { App } from './app.entity.js';
import { toRecord, type AppRecord } from './app.service.js';

/** Per-request loaders for app data: one query for all the apps a response touches. */
/**
 * @param readPrimary asked at load time: true during a mutation, so its answer shows its own
 *   writes even when reads otherwise go to a (lagging) replica.
 */
export function createAppLoaders(em: EntityManager, readPrimary: () => boolean = () => false) {
  return {
    /** Apps by id (null once deleted): one query for every app a response names by id (tickets). */
    appById: new DataLoader<number, AppRecord | null>(async (ids) => {
      const rows = await em.find(
        App,
        { id: { $in: [...ids] } },
        { connectionType: readPrimary() ? 'write' : undefined, disableIdentityMap: true },
      );
      const byId = new Map(rows.map((a) => [a.id, toRecord(a)]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Members with their users' public columns, as plain rows: one query per response. */
    membersByAppId: new DataLoader<number, MemberRow[]>(async (appIds) => {
      const rows = await findMemberRows(em, appIds, readPrimary());
      const byApp = groupMembers(rows);
      return appIds.map((id) => byApp.get(id) ?? []);
    }),
  };
}
export type AppLoaders = ReturnType<typeof createAppLoaders>;
