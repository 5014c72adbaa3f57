/** batch/v1 Jobs in the simulator: the real kubectl and client-node 1.4 against one cluster. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import { parseGoDuration } from './jobs.js';
import {
  eventually,
  FAST_TIMING,
  KUBECTL_132,
  kubectlEnv,
  tableRows,
  type KubectlEnv,
} from './test-support.js';

const JOBS = `
apiVersion: batch/v1
kind: Job
metadata:
  name: build
spec:
  template:
    metadata:
      labels: {app: build}
    spec:
      restartPolicy: Never
      containers:
      - name: build
        image: registry.example.com/builder:v1
---
apiVersion: batch/v1
kind: Job
metadata:
  name: broken
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: build
        image: registry.example.com/builder:v1-fail
`;

const SLOW = `
apiVersion: batch/v1
kind: Job
metadata:
  name: slow
  annotations:
    sim.phantom.dev/run-duration: 30s
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox:1.36
`;

interface Job {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { selector: { matchLabels: Record<string, string> } };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

interface Pod {
  metadata: {
    name: string;
    labels: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller: boolean }[];
  };
  status: {
    phase: string;
    containerStatuses?: { state: { terminated?: { exitCode: number; reason: string } } }[];
  };
}

describe('Jobs with the real kubectl', () => {
  let cluster: SimulatedCluster;
  let k: KubectlEnv;

  const json = async <T>(args: string[]): Promise<T> => {
    const r = await k.run([...args, '-o', 'json']);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    cluster = await startSimulatedCluster({
      name: 'jobs',
      timing: { ...FAST_TIMING, jobRunMs: 400, jobBackoffMs: 100 },
    });
    k = kubectlEnv(cluster.kubeconfigYaml());
    writeFileSync(join(k.dir, 'jobs.yaml'), JOBS);
    writeFileSync(join(k.dir, 'slow.yaml'), SLOW);
  });

  afterAll(async () => {
    await cluster?.close();
    k?.cleanup();
    expect(cluster.controllerErrors).toEqual([]);
  });

  it('discovery lists batch/v1 jobs (api-resources)', async () => {
    const r = await k.run(['api-resources', '--api-group=batch']);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    expect(rows.slice(1)).toEqual([['jobs', 'batch/v1', 'true', 'Job']]);
  });

  it('apply, wait --for=condition=complete, get jobs, logs job/x', async () => {
    const applied = await k.run(['apply', '-f', join(k.dir, 'jobs.yaml')]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toContain('job.batch/build created');
    expect(applied.stdout).toContain('job.batch/broken created');

    const waited = await k.run(
      ['wait', '--for=condition=complete', 'job/build', '--timeout=30s'],
      40_000,
    );
    expect(waited.stderr).toBe('');
    expect(waited.code).toBe(0);
    expect(waited.stdout.trim()).toBe('job.batch/build condition met');

    const job = await json<Job>(['get', 'job', 'build']);
    const uid = job.metadata.uid;
    expect(job.spec).toMatchObject({
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
    });
    expect(job.spec.selector).toEqual({
      matchLabels: { 'batch.kubernetes.io/controller-uid': uid },
    });
    expect(job.status).toMatchObject({ succeeded: 1, ready: 0 });
    expect(job.status?.active).toBeUndefined();
    expect(Date.parse(job.status?.completionTime ?? '')).toBeGreaterThanOrEqual(
      Date.parse(job.status?.startTime ?? ''),
    );
    expect(job.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['SuccessCriteriaMet', 'True', 'CompletionsReached'],
      ['Complete', 'True', 'CompletionsReached'],
    ]);

    // The pod: from the template, owned by the job, labelled as upstream, Succeeded with exit code 0.
    const pods = await json<{ items: Pod[] }>(['get', 'pods', '-l', 'job-name=build']);
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0];
    expect(pod.metadata.name).toMatch(/^build-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(pod.metadata.labels).toMatchObject({
      app: 'build',
      'batch.kubernetes.io/job-name': 'build',
      'batch.kubernetes.io/controller-uid': uid,
      'job-name': 'build',
      'controller-uid': uid,
    });
    expect(pod.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name: 'build', uid, controller: true }),
    ]);
    expect(pod.status.phase).toBe('Succeeded');
    expect(pod.status.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });

    const got = await k.run(['get', 'jobs']);
    expect(got.code).toBe(0);
    const rows = tableRows(got.stdout);
    expect(rows[0]).toEqual(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    const build = rows.find((r) => r[0] === 'build');
    expect(build?.slice(1, 3)).toEqual(['Complete', '1/1']);
    expect(build?.[3]).toMatch(/^\d+s$/);

    const wide = await k.run(['get', 'job', 'build', '-o', 'wide']);
    expect(tableRows(wide.stdout)[0]).toEqual([
      'NAME',
      'STATUS',
      'COMPLETIONS',
      'DURATION',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    expect(tableRows(wide.stdout)[1]?.slice(5)).toEqual([
      'build',
      'registry.example.com/builder:v1',
      `batch.kubernetes.io/controller-uid=${uid}`,
    ]);

    const podTable = await k.run(['get', 'pods', '-l', 'job-name=build']);
    expect(tableRows(podTable.stdout)[1]?.slice(1, 3)).toEqual(['0/1', 'Completed']);

    const logs = await k.run(['logs', 'job/build']);
    expect(logs.stderr).toBe('');
    expect(logs.code).toBe(0);
    expect(logs.stdout.split('\n').filter(Boolean)).toEqual([
      '[sim] container build started (image registry.example.com/builder:v1)',
      '[sim] running',
      '[sim] exited with code 0',
    ]);
  });

  it('a -fail image fails each pod; the job fails after backoffLimit', async () => {
    const waited = await k.run(
      ['wait', '--for=condition=failed', 'job/broken', '--timeout=30s'],
      40_000,
    );
    expect(waited.stderr).toBe('');
    expect(waited.code).toBe(0);
    const job = await json<Job>(['get', 'job', 'broken']);
    // backoffLimit 2: the third failure fails the job.
    expect(job.status?.failed).toBe(3);
    expect(job.status?.succeeded).toBeUndefined();
    expect(job.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      [
        'FailureTarget',
        'True',
        'BackoffLimitExceeded',
        'Job has reached the specified backoff limit',
      ],
      ['Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
    ]);
    const pods = await json<{ items: Pod[] }>(['get', 'pods', '-l', 'job-name=broken']);
    expect(pods.items.map((p) => p.status.phase)).toEqual(['Failed', 'Failed', 'Failed']);
    expect(pods.items.map((p) => p.status.containerStatuses?.[0]?.state.terminated)).toEqual(
      Array(3).fill(expect.objectContaining({ exitCode: 1, reason: 'Error' })),
    );
    const row = tableRows((await k.run(['get', 'job', 'broken'])).stdout)[1];
    expect(row?.slice(0, 3)).toEqual(['broken', 'Failed', '0/1']);
    const ev = await k.run([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=broken,reason=BackoffLimitExceeded',
      '-o',
      'name',
    ]);
    expect(ev.stdout.trim().split('\n')).toHaveLength(1);
    const logs = await k.run(['logs', pods.items[0].metadata.name]);
    expect(logs.stdout).toContain('[sim] exited with code 1');
  });

  it('kubectl 1.32 prints the same job columns', async () => {
    const r = await k.run(['get', 'jobs'], 20_000, KUBECTL_132);
    expect(r.code).toBe(0);
    expect(tableRows(r.stdout)[0]).toEqual(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
  });

  it('delete job removes its pods (kubectl sends propagationPolicy=Background)', async () => {
    const before = await json<{ items: Pod[] }>(['get', 'pods', '-l', 'job-name=broken']);
    expect(before.items.length).toBe(3);
    const r = await k.run(['delete', 'job', 'broken']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('job.batch "broken" deleted');
    await eventually(
      async () =>
        (await json<{ items: Pod[] }>(['get', 'pods', '-l', 'job-name=broken'])).items.length === 0,
    );
  });

  it('a running job: the run-duration annotation, Running status, active pods, delete --cascade=foreground', async () => {
    expect((await k.run(['apply', '-f', join(k.dir, 'slow.yaml')])).code).toBe(0);
    const job = await eventually(async () => {
      const j = await json<Job>(['get', 'job', 'slow']);
      return j.status?.active === 1 && j.status.ready === 1 ? j : undefined;
    });
    expect(job.status?.conditions).toBeUndefined();
    const row = tableRows((await k.run(['get', 'job', 'slow'])).stdout)[1];
    expect(row?.slice(0, 3)).toEqual(['slow', 'Running', '0/1']);
    const pods = await json<{
      items: (Pod & { metadata: { annotations?: Record<string, string> } })[];
    }>(['get', 'pods', '-l', 'job-name=slow']);
    expect(pods.items[0]?.status.phase).toBe('Running');
    expect(pods.items[0]?.metadata.annotations?.['sim.phantom.dev/run-duration']).toBe('30s');
    const del = await k.run(['delete', 'job', 'slow', '--cascade=foreground'], 30_000);
    expect(del.code).toBe(0);
    await eventually(
      async () =>
        (await json<{ items: Pod[] }>(['get', 'pods', '-l', 'job-name=slow'])).items.length === 0,
    );
    expect((await k.run(['get', 'job', 'slow'])).stderr).toContain('NotFound');
  });

  it('logs -f job/x follows the running container until it exits', async () => {
    const file = join(k.dir, 'follow.yaml');
    writeFileSync(file, SLOW.replace('name: slow', 'name: follow').replace('30s', '3s'));
    expect((await k.run(['apply', '-f', file])).code).toBe(0);
    await eventually(async () => (await json<Job>(['get', 'job', 'follow'])).status?.ready === 1);
    const r = await k.run(['logs', '-f', 'job/follow'], 30_000);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      '[sim] container work started (image busybox:1.36)',
      '[sim] running',
      '[sim] exited with code 0',
    ]);
    expect((await json<Job>(['get', 'job', 'follow'])).status?.succeeded).toBe(1);
  });

  it('kubectl create job (a protobuf body) runs to completion', async () => {
    const r = await k.run(['create', 'job', 'once', '--image=busybox:1.36', '--', 'true']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('job.batch/once created');
    const w = await k.run(
      ['wait', '--for=condition=complete', 'job/once', '--timeout=30s'],
      40_000,
    );
    expect(w.code).toBe(0);
    const job = await json<
      Job & {
        spec: {
          template: { spec: { restartPolicy: string; containers: { command: string[] }[] } };
        };
      }
    >(['get', 'job', 'once']);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.containers[0]?.command).toEqual(['true']);
  });

  it('refuses restartPolicy Always and changes to the template (422)', async () => {
    const bad = join(k.dir, 'always.yaml');
    writeFileSync(
      bad,
      SLOW.replace('name: slow', 'name: always').replace(
        'restartPolicy: Never',
        'restartPolicy: Always',
      ),
    );
    const r = await k.run(['apply', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'The Job "always" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    );
    const changed = join(k.dir, 'changed.yaml');
    writeFileSync(changed, JOBS.split('---')[0].replace('builder:v1', 'builder:v2'));
    const c = await k.run(['apply', '-f', changed]);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('spec.template: Invalid value');
    expect(c.stderr).toContain('field is immutable');
  });
});

describe('Jobs with client-node (BatchV1Api)', () => {
  let cluster: SimulatedCluster;
  let kc: k8s.KubeConfig;
  let batch: k8s.BatchV1Api;
  let core: k8s.CoreV1Api;

  const job = (name: string, image: string, extra: Partial<k8s.V1JobSpec> = {}): k8s.V1Job => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      ...extra,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'build', image }] } },
    },
  });

  beforeAll(async () => {
    cluster = await startSimulatedCluster({
      name: 'jobs-cn',
      timing: { ...FAST_TIMING, jobRunMs: 300, jobBackoffMs: 50 },
    });
    kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfigYaml());
    batch = kc.makeApiClient(k8s.BatchV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });

  afterAll(async () => {
    await cluster?.close();
    expect(cluster.controllerErrors).toEqual([]);
    expect(cluster.openWatches).toBe(0);
  });

  it('createNamespacedJob, then a watch sees it progress to Complete', async () => {
    const created = await batch.createNamespacedJob({
      namespace: 'default',
      body: job('cn-build', 'builder:v1', { parallelism: 2, completions: 3 }),
    });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.spec?.backoffLimit).toBe(6);
    const seen: { active?: number; succeeded?: number; conditions: string[] }[] = [];
    const done = new Promise<k8s.V1Job>((resolve, reject) => {
      void new k8s.Watch(kc)
        .watch(
          '/apis/batch/v1/namespaces/default/jobs',
          {
            fieldSelector: 'metadata.name=cn-build',
            resourceVersion: created.metadata?.resourceVersion,
          },
          (_type, obj: k8s.V1Job) => {
            seen.push({
              active: obj.status?.active,
              succeeded: obj.status?.succeeded,
              conditions: (obj.status?.conditions ?? []).map((c) => c.type),
            });
            if (obj.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'))
              resolve(obj);
          },
          (err: unknown) => (err ? reject(err as Error) : undefined),
        )
        .then((req) => done.finally(() => req.abort()));
    });
    const finished = await done;
    expect(finished.status?.succeeded).toBe(3);
    // Watch events are plain JSON (client-node does not deserialize them): times are RFC 3339 strings.
    expect(String(finished.status?.completionTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // parallelism 2 of 3 completions: two pods ran at once, then a third.
    expect(Math.max(...seen.map((s) => s.active ?? 0))).toBe(2);
    const pods = await core.listNamespacedPod({
      namespace: 'default',
      labelSelector: 'batch.kubernetes.io/job-name=cn-build',
    });
    expect(pods.items.map((p) => p.status?.phase)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    const read = await batch.readNamespacedJob({ name: 'cn-build', namespace: 'default' });
    expect(read.status?.completionTime).toBeInstanceOf(Date);
  });

  it('deleting a job without propagationPolicy orphans its pods (upstream default for batch/v1), Background removes them', async () => {
    await batch.createNamespacedJob({ namespace: 'default', body: job('keep', 'builder:v1') });
    await eventually(
      async () =>
        (await batch.readNamespacedJob({ name: 'keep', namespace: 'default' })).status
          ?.succeeded === 1,
    );
    await batch.deleteNamespacedJob({ name: 'keep', namespace: 'default' });
    const orphans = await core.listNamespacedPod({
      namespace: 'default',
      labelSelector: 'job-name=keep',
    });
    expect(orphans.items).toHaveLength(1);
    expect(orphans.items[0]?.metadata?.ownerReferences).toBeUndefined();

    await batch.createNamespacedJob({ namespace: 'default', body: job('gone', 'builder:v1') });
    await eventually(
      async () =>
        (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=gone' }))
          .items.length === 1,
    );
    await batch.deleteNamespacedJob({
      name: 'gone',
      namespace: 'default',
      propagationPolicy: 'Background',
    });
    await eventually(
      async () =>
        (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=gone' }))
          .items.length === 0,
    );
  });

  it('ttlSecondsAfterFinished deletes a finished job and its pods', async () => {
    await batch.createNamespacedJob({
      namespace: 'default',
      body: job('ttl', 'builder:v1-fail', { backoffLimit: 0, ttlSecondsAfterFinished: 0 }),
    });
    await eventually(async () => {
      const list = await batch.listNamespacedJob({
        namespace: 'default',
        fieldSelector: 'metadata.name=ttl',
      });
      return list.items.length === 0;
    });
    await eventually(
      async () =>
        (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=ttl' }))
          .items.length === 0,
    );
  });

  it('activeDeadlineSeconds fails a job that runs too long', async () => {
    const body = job('deadline', 'builder:v1', { activeDeadlineSeconds: 1 });
    body.metadata!.annotations = { 'sim.phantom.dev/run-duration': '1m' };
    await batch.createNamespacedJob({ namespace: 'default', body });
    const failed = await eventually(async () => {
      const j = await batch.readNamespacedJob({ name: 'deadline', namespace: 'default' });
      return j.status?.conditions?.find((c) => c.type === 'Failed') ? j : undefined;
    });
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe(
      'DeadlineExceeded',
    );
    await eventually(async () => {
      const pods = await core.listNamespacedPod({
        namespace: 'default',
        labelSelector: 'job-name=deadline',
      });
      return pods.items.length === 0;
    });
  });

  it('restartPolicy OnFailure: the container restarts in place and the restarts count toward backoffLimit', async () => {
    const body = job('retry', 'builder:v1-fail', { backoffLimit: 2 });
    body.spec!.template.spec!.restartPolicy = 'OnFailure';
    await batch.createNamespacedJob({ namespace: 'default', body });
    const failed = await eventually(async () => {
      const j = await batch.readNamespacedJob({ name: 'retry', namespace: 'default' });
      return j.status?.conditions?.some((c) => c.type === 'Failed') ? j : undefined;
    }, 20_000);
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe(
      'BackoffLimitExceeded',
    );
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('2s')).toBe(2000);
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('soon')).toBeUndefined();
    expect(parseGoDuration('5')).toBeUndefined();
  });
});

describe('Jobs across a restart of a cluster with a data directory', () => {
  it('a job pod running at the stop finishes after the start, and the job completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phantom-sim-jobs-'));
    const timing = { ...FAST_TIMING, jobBackoffMs: 50 };
    let cluster = await startSimulatedCluster({ name: 'jobs-keep', timing, dataDir: dir });
    try {
      const kc = new k8s.KubeConfig();
      kc.loadFromString(cluster.kubeconfigYaml());
      let batch = kc.makeApiClient(k8s.BatchV1Api);
      await batch.createNamespacedJob({
        namespace: 'default',
        body: {
          metadata: { name: 'long', annotations: { 'sim.phantom.dev/run-duration': '1500ms' } },
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'build', image: 'builder:v1' }],
              },
            },
          },
        },
      });
      await eventually(
        async () =>
          (await batch.readNamespacedJob({ name: 'long', namespace: 'default' })).status?.ready ===
          1,
      );
      await cluster.close();
      cluster = await startSimulatedCluster({ name: 'jobs-keep', timing, dataDir: dir });
      const kc2 = new k8s.KubeConfig();
      kc2.loadFromString(cluster.kubeconfigYaml());
      batch = kc2.makeApiClient(k8s.BatchV1Api);
      const done = await eventually(async () => {
        const j = await batch.readNamespacedJob({ name: 'long', namespace: 'default' });
        return j.status?.succeeded === 1 ? j : undefined;
      }, 15_000);
      expect(done.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
      // The same pod finished (no second one was started).
      const pods = await kc2
        .makeApiClient(k8s.CoreV1Api)
        .listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=long' });
      expect(pods.items.map((p) => p.status?.phase)).toEqual(['Succeeded']);
      expect(cluster.controllerErrors).toEqual([]);
    } finally {
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
