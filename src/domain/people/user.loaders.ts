import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/core';
import { User } from './user.entity.js';

/** Per-request user loader (by id). */
export function createUserLoaders(em: EntityManager, readPrimary: () => boolean = () => false) {
  return {
    userById: new DataLoader<number, User | null>(async (ids) => {
      const rows = await em.find(
        User,
        { id: { $in: [...ids] } },
        { connectionType: readPrimary() ? 'write' : undefined },
      );
      const byId = new Map(rows.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
export type UserLoaders = ReturnType<typeof createUserLoaders>;
