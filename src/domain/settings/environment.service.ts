import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { Environment, type EnvironmentTarget } from './environment.entity.js';
import type { DomainContext } from '../shared/domain-context.js';
import { badInput } from '../shared/errors.js';
import { requireAdmin, requireViewer } from '../shared/authz.js';
import { validateEnvName } from '../apps/app.validation.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';

export interface EnvironmentInput {
  name: string;
  requiresApproval: boolean;
  targets: EnvironmentTarget[];
  position?: number | null;
}

/**
 * The environments a fresh install starts with. The embedded simulated clusters are named
 * sim-1 and sim-2: dev and test deploy to sim-1, prod to both.
 */
export const DEFAULT_ENVIRONMENTS: EnvironmentInput[] = [
  {
    name: 'dev',
    requiresApproval: false,
    targets: [{ cluster: 'sim-1', namespace: 'dev' }],
    position: 10,
  },
  {
    name: 'test',
    requiresApproval: false,
    targets: [{ cluster: 'sim-1', namespace: 'test' }],
    position: 20,
  },
  {
    name: 'prod',
    requiresApproval: true,
    targets: [
      { cluster: 'sim-1', namespace: 'prod' },
      { cluster: 'sim-2', namespace: 'prod' },
    ],
    position: 30,
  },
];

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export async function listEnvironments(ctx: DomainContext): Promise<Environment[]> {
  requireViewer(ctx.viewer);
  return ctx.em.find(Environment, {}, { orderBy: { position: 'asc', name: 'asc' } });
}

export function validateEnvironment(input: EnvironmentInput): void {
  validateEnvName(input.name);
  if (!input.targets.length)
    throw badInput('targets', 'An environment needs at least one target {cluster, namespace}.');
  if (input.targets.length > 50) throw badInput('targets', 'At most 50 targets.');
  const seen = new Set<string>();
  input.targets.forEach((t, i) => {
    if (!DNS1123.test(t.cluster) || t.cluster.length > 63)
      throw badInput(`targets.${i}.cluster`, `"${t.cluster}" is not a valid cluster name.`);
    if (!DNS1123.test(t.namespace) || t.namespace.length > 63)
      throw badInput(
        `targets.${i}.namespace`,
        `"${t.namespace}" is not a valid Kubernetes namespace.`,
      );
    const key = `${t.cluster}/${t.namespace}`;
    if (seen.has(key)) throw badInput(`targets.${i}`, `Target ${key} is listed twice.`);
    seen.add(key);
  });
}

/** Creates or replaces an environment (admins only). */
export async function upsertEnvironment(
  ctx: DomainContext,
  input: EnvironmentInput,
): Promise<Environment> {
  const admin = requireAdmin(ctx.viewer);
  validateEnvironment(input);
  const env = await ctx.em.transactional(async (em) => {
    let e = await em.findOne(Environment, { name: input.name });
    const created = !e;
    if (!e) {
      e = em.create(Environment, {
        name: input.name,
        requiresApproval: input.requiresApproval,
        targets: input.targets,
        position: input.position ?? 100,
      });
      em.persist(e);
    } else {
      e.requiresApproval = input.requiresApproval;
      e.targets = input.targets;
      if (input.position != null) e.position = input.position;
    }
    recordEvent(em, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: admin.username,
      env: input.name,
      payload: {
        change: created ? 'ENVIRONMENT_CREATED' : 'ENVIRONMENT_UPDATED',
        requiresApproval: input.requiresApproval,
        targets: input.targets,
      },
    });
    return e;
  });
  ctx.deps.onEventsCommitted();
  return env;
}

/** Seeds {@link DEFAULT_ENVIRONMENTS} when no environment exists yet. */
export async function ensureDefaultEnvironments(em: EntityManager): Promise<void> {
  try {
    await em.fork().transactional(async (tx) => {
      if (await tx.count(Environment, {})) return;
      for (const d of DEFAULT_ENVIRONMENTS) {
        tx.persist(
          tx.create(Environment, {
            name: d.name,
            requiresApproval: d.requiresApproval,
            targets: d.targets,
            position: d.position ?? 0,
          }),
        );
      }
    });
  } catch (e) {
    // Another replica seeded them at the same moment: fine.
    if (!(e instanceof UniqueConstraintViolationException)) throw e;
  }
}

/** The names among `names` that are no environment (one read), in the order given, without repeats. */
export async function unknownEnvironments(em: EntityManager, names: string[]): Promise<string[]> {
  const unique = [...new Set(names)];
  if (!unique.length) return [];
  const known = new Set(
    (await em.find(Environment, { name: { $in: unique } }, { fields: ['name'] })).map(
      (e) => e.name,
    ),
  );
  return unique.filter((e) => !known.has(e));
}
