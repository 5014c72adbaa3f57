/** Helpers for release tests: create a release, follow `releaseProgress` over graphql-ws. */
import type { Client } from 'graphql-ws';
import type { TestPhantom } from '../support/harness.js';

export const RELEASE = `id app env image status strategy message cancelRequested createdBy
  steps { name cluster status message } clusters { cluster desired updated ready available } prechecks { rule passed message }`;

export interface ProgressFrame {
  sequence: string;
  kind: string;
  message: string;
  release: {
    status: string;
    steps: { name: string; cluster: string | null; status: string; message: string | null }[];
    clusters: {
      cluster: string;
      desired: number;
      updated: number;
      ready: number;
      available: number;
    }[];
    message: string | null;
  };
}

export async function createRelease(
  t: TestPhantom,
  input: Record<string, unknown>,
  token?: string,
): Promise<any> {
  const r = await t.gql(
    `mutation($i: CreateReleaseInput!) { createRelease(input: $i) { ${RELEASE} } }`,
    { i: input },
    token,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.createRelease;
}

export async function getRelease(t: TestPhantom, id: string, token?: string): Promise<any> {
  const r = await t.gql(`query($id: ID!) { release(id: $id) { ${RELEASE} } }`, { id }, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.release;
}

/**
 * Follows `releaseProgress` until it completes (after a terminal status) or `until` says stop;
 * resolves with every frame received.
 */
export function follow(
  client: Client,
  id: string,
  opts: { after?: string; until?: (f: ProgressFrame) => boolean; timeoutMs?: number } = {},
): Promise<ProgressFrame[]> {
  const frames: ProgressFrame[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(
          `releaseProgress did not complete in time; last: ${JSON.stringify(frames.at(-1))}`,
        ),
      );
    }, opts.timeoutMs ?? 40_000);
    const stop = client.subscribe<{ releaseProgress: ProgressFrame }>(
      {
        query: `subscription($id: ID!, $after: String) { releaseProgress(id: $id, after: $after) { sequence kind message release { status message steps { name cluster status message } clusters { cluster desired updated ready available } } } }`,
        variables: { id, after: opts.after ?? null },
      },
      {
        next: (m) => {
          if (m.errors) {
            clearTimeout(timer);
            reject(new Error(JSON.stringify(m.errors)));
            return;
          }
          const f = m.data!.releaseProgress;
          frames.push(f);
          if (opts.until?.(f)) {
            clearTimeout(timer);
            stop();
            resolve(frames);
          }
        },
        error: (e) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
        },
        complete: () => {
          clearTimeout(timer);
          resolve(frames);
        },
      },
    );
  });
}

/** Sequences are 1, 2, 3, … with no gap and no repeat. */
export function expectDense(frames: ProgressFrame[], from = 1): boolean {
  return frames.every((f, i) => Number(f.sequence) === from + i);
}
