/**
 * `GET pods/{name}/log`: a few synthetic lines per container start (no real containers run);
 * with `follow=true` the stream stays open until the container exits or the pod goes.
 */
import { badRequest } from './errors.js';
import type { Obj } from './types.js';
import type { Pod } from './kinds.js';

export function podLog(podObj: Obj, q: URLSearchParams): string {
  const pod = podObj as Pod;
  const containers = pod.spec?.containers ?? [];
  const name = q.get('container') ?? (containers.length === 1 ? containers[0]?.name : undefined);
  if (!name)
    throw badRequest(
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`,
    );
  const spec = containers.find((c) => c.name === name);
  if (!spec) throw badRequest(`container ${name} is not valid for pod ${pod.metadata.name}`);
  const cs = (pod.status?.containerStatuses ?? []).find((c) => c.name === name);
  const previous = q.get('previous') === 'true';
  const state = previous ? cs?.lastState : cs?.state;
  const run = state?.running ?? state?.terminated;
  if (previous && !state?.terminated)
    throw badRequest(
      `previous terminated container "${name}" in pod "${pod.metadata.name}" not found`,
    );
  // (With `previous`, `terminated` is set, so `run` is.)
  if (!run)
    throw badRequest(
      `container "${name}" in pod "${pod.metadata.name}" is waiting to start: ${state?.waiting?.reason ?? 'ContainerCreating'}`,
    );
  const startedAt = run.startedAt;
  const terminated = state?.terminated;
  // A container that runs to completion (a Job's, see kubelet.ts) works rather than listens.
  const finite =
    (pod.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Job') ||
    !!pod.metadata?.annotations?.['sim.phantom.dev/run-duration'];
  const lines = [
    `${startedAt} [sim] container ${name} started (image ${String(spec.image)})`,
    `${startedAt} [sim] ${finite ? 'running' : 'listening'}`,
  ];
  if (terminated?.exitCode)
    lines.push(`${String(terminated.finishedAt)} [sim] error: simulated failure`);
  if (terminated)
    lines.push(
      `${String(terminated.finishedAt)} [sim] exited with code ${String(terminated.exitCode)}`,
    );
  const tail = q.get('tailLines');
  const out =
    tail !== null && /^\d+$/.test(tail) ? lines.slice(-Number(tail) || lines.length) : lines;
  const withTs = q.get('timestamps') === 'true';
  return out.map((l) => (withTs ? l : l.slice(l.indexOf(' ') + 1))).join('\n') + '\n';
}

/** The line `follow` writes when the followed container stops (exit, or the pod deleted). */
export function stopLine(
  podObj: Obj | undefined,
  container: string,
  q: URLSearchParams,
): string | undefined {
  const pod = podObj as Pod | undefined;
  const cs = (pod?.status?.containerStatuses ?? []).find((c) => c.name === container);
  const t = cs?.state?.terminated;
  if (!t) return undefined;
  const line = `${String(t.finishedAt)} [sim] exited with code ${String(t.exitCode)}`;
  return `${q.get('timestamps') === 'true' ? line : line.slice(line.indexOf(' ') + 1)}\n`;
}

/** The container a log request names (validated by {@link podLog} first). */
export function logContainer(pod: Obj, q: URLSearchParams): string {
  const containers = (pod as Pod).spec?.containers ?? [];
  return q.get('container') ?? String(containers[0]?.name);
}
