import type { SimTiming } from '../../src/k8s/sim/index.js';

/** Small sim delays so rollouts take well under a second. */
export const FAST_TIMING: Partial<SimTiming> = {
  scheduleMs: 10,
  pullMs: 20,
  startMs: 20,
  readyMs: 30,
  terminateMs: 30,
  resyncMs: 100,
};

/** Polls `fn` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `waitFor: timed out after ${timeoutMs} ms${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  kubeconfigFor,
  startSimulatedCluster,
  type SimulatedCluster,
} from '../../src/k8s/sim/index.js';

export interface TestClusters {
  sims: SimulatedCluster[];
  /** A kubeconfig file naming the sims (and `extra` clusters, e.g. one nobody listens on). */
  kubeconfigPath: string;
  close(): Promise<void>;
}

/** Starts `names` as simulated clusters and writes a kubeconfig for them to a temp file. */
export async function startTestClusters(
  names: string[] = ['sim-1', 'sim-2'],
  extra: { name: string; url: string }[] = [],
): Promise<TestClusters> {
  const sims = await Promise.all(
    names.map((name) => startSimulatedCluster({ name, timing: FAST_TIMING })),
  );
  const dir = mkdtempSync(join(tmpdir(), 'phantom-k8s-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    kubeconfigFor([...sims.map((s) => ({ name: s.name, url: s.url })), ...extra]),
  );
  return {
    sims,
    kubeconfigPath,
    close: async () => void (await Promise.all(sims.map((s) => s.close()))),
  };
}

/** Collects the messages of a graphql-ws subscription until `stop()`. */
export function collect<T = any>(
  client: import('graphql-ws').Client,
  query: string,
  variables: Record<string, unknown> = {},
) {
  const items: { data?: T; errors?: any[] }[] = [];
  let error: unknown;
  let completed = false;
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (v) => void items.push(v as any),
      error: (e) => {
        error = e;
      },
      complete: () => {
        completed = true;
      },
    },
  );
  return {
    items,
    stop,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
  };
}
