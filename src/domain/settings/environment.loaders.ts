import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/core';
import { Environment, type EnvironmentTarget } from './environment.entity.js';

/** An environment as the per-request loader returns it: plain data. */
export interface EnvironmentRecord {
  id: number;
  name: string;
  requiresApproval: boolean;
  targets: EnvironmentTarget[];
}

/**
 * Per-request environment loader (by name): a page of apps that each ask for `workloads(env)`
 * reads the environment once, not once per app (issue 9, P5).
 *
 * @param readPrimary asked at load time: true during a mutation, so it sees its own writes.
 */
export function createEnvironmentLoaders(
  em: EntityManager,
  readPrimary: () => boolean = () => false,
) {
  return {
    environmentByName: new DataLoader<string, EnvironmentRecord | null>(async (names) => {
      const rows = await em.find(
        Environment,
        { name: { $in: [...names] } },
        {
          fields: ['id', 'name', 'requiresApproval', 'targets'],
          connectionType: readPrimary() ? 'write' : undefined,
          disableIdentityMap: true,
        },
      );
      const byName = new Map(
        rows.map((e) => [
          e.name,
          { id: e.id, name: e.name, requiresApproval: e.requiresApproval, targets: e.targets },
        ]),
      );
      return names.map((n) => byName.get(n) ?? null);
    }),
  };
}
export type EnvironmentLoaders = ReturnType<typeof createEnvironmentLoaders>;
