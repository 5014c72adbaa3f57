/**
 * batch/v1 Jobs: defaulting and selector generation (the apiserver's job strategy), validation,
 * and the job controller (after kubernetes pkg/controller/job: pods from the template, status
 * counts, backoff, Complete/Failed with their 1.31+ interim conditions, activeDeadlineSeconds,
 * ttlSecondsAfterFinished). The pods themselves run to completion in the kubelet (kubelet.ts).
 */
import { required, type Cause } from './errors.js';
import type { EventRecorder } from './event-recorder.js';
import { deepEqual } from './equality.js';
import { rfc3339 } from './names.js';
import type { Registry } from './registry.js';
import { findResource, type ResourceDef } from './resources.js';
import { labelSelectorMatcher } from './selectors.js';
import { show, type Condition, type Obj, type SimTiming } from './types.js';
import { countOr } from './validation.js';
import type { Job, JobSpec, JobStatus, Pod, PodTemplateSpec, Stored } from './kinds.js';

const PODS = findResource('', 'v1', 'pods') as ResourceDef;
export const JOBS = findResource('batch', 'v1', 'jobs') as ResourceDef;
const SRC = { component: 'job-controller' };

/** Annotation (on a Job, its pod template or a pod) setting how long the simulated container runs: a Go duration (`2s`, `500ms`, `1m30s`). */
export const RUN_DURATION_ANNOTATION = 'sim.phantom.dev/run-duration';

export const JOB_LABELS = {
  controllerUid: 'batch.kubernetes.io/controller-uid',
  jobName: 'batch.kubernetes.io/job-name',
  legacyControllerUid: 'controller-uid',
  legacyJobName: 'job-name',
} as const;

/** Parses a Go duration (`1h2m3.5s`, `250ms`); undefined when it is not one. */
export function parseGoDuration(s: unknown): number | undefined {
  if (typeof s !== 'string' || !s.trim()) return undefined;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const text = s.trim();
  if (text === '0') return 0;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  return pos === text.length && pos > 0 ? total : undefined;
}

/** apiserver defaults for a batch/v1 Job (SetDefaults_Job); the template's pod spec is defaulted by the caller. */
export function defaultJobSpec(s: JobSpec): void {
  if (s.completions === undefined && s.parallelism === undefined) {
    s.completions = 1;
    s.parallelism = 1;
  }
  s.parallelism ??= 1;
  s.backoffLimit ??= 6;
  s.completionMode ??= 'NonIndexed';
  s.suspend ??= false;
  if (!s.podFailurePolicy) s.podReplacementPolicy ??= 'TerminatingOrFailed';
}

/**
 * The job strategy's PrepareForCreate: unless `spec.manualSelector`, the selector is
 * `batch.kubernetes.io/controller-uid=<uid>` and the template gets the controller-uid and
 * job-name labels (new and legacy keys), as upstream since 1.27.
 */
export function generateJobSelector(o: Obj): void {
  const job = o as Stored<Job>; // the registry has set the name and uid
  const s = job.spec;
  if (!s || typeof s !== 'object' || s.manualSelector === true) return;
  const uid = job.metadata.uid;
  const name = job.metadata.name;
  s.selector = { matchLabels: { [JOB_LABELS.controllerUid]: uid } };
  if (!s.template || typeof s.template !== 'object') return;
  s.template.metadata ??= {};
  s.template.metadata.labels = {
    ...(s.template.metadata.labels ?? {}),
    [JOB_LABELS.controllerUid]: uid,
    [JOB_LABELS.jobName]: name,
    [JOB_LABELS.legacyControllerUid]: uid,
    [JOB_LABELS.legacyJobName]: name,
  };
}

/** Validation of a Job (create and update). */
export function validateJob(causes: Cause[], o: Obj, old?: Obj): void {
  const s: JobSpec = (o as Job).spec ?? {};
  const oldSpec: JobSpec | undefined = (old as Job | undefined)?.spec;
  for (const f of [
    'parallelism',
    'completions',
    'backoffLimit',
    'ttlSecondsAfterFinished',
  ] as const) {
    const v = s[f];
    if (typeof v === 'number' && v < 0)
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${v}: must be greater than or equal to 0`,
        field: `spec.${f}`,
      });
  }
  if (
    s.activeDeadlineSeconds !== undefined &&
    s.activeDeadlineSeconds !== null &&
    !(typeof s.activeDeadlineSeconds === 'number' && s.activeDeadlineSeconds > 0)
  )
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(s.activeDeadlineSeconds)}: must be greater than 0`,
      field: 'spec.activeDeadlineSeconds',
    });
  const completionModes: unknown[] = ['NonIndexed', 'Indexed'];
  if (s.completionMode !== undefined && !completionModes.includes(s.completionMode))
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: "${show(s.completionMode)}": supported values: "NonIndexed", "Indexed"`,
      field: 'spec.completionMode',
    });
  if (!s.selector) causes.push(required('spec.selector'));
  const t = s.template;
  if (!t) {
    causes.push(required('spec.template'));
  } else {
    if (s.selector) {
      let matches: boolean;
      try {
        matches = labelSelectorMatcher(s.selector)(t.metadata?.labels ?? {});
      } catch {
        matches = false;
      }
      if (!matches)
        causes.push({
          reason: 'FieldValueInvalid',
          message: 'Invalid value: `selector` does not match template `labels`',
          field: 'spec.template.metadata.labels',
        });
    }
    const rp = t.spec?.restartPolicy;
    if (rp !== 'OnFailure' && rp !== 'Never')
      causes.push({
        reason: rp ? 'FieldValueNotSupported' : 'FieldValueRequired',
        message: rp
          ? `Unsupported value: "${String(rp)}": supported values: "OnFailure", "Never"`
          : 'Required value: valid values: "OnFailure", "Never"',
        field: 'spec.template.spec.restartPolicy',
      });
    const cs = t.spec?.containers;
    if (!Array.isArray(cs) || !cs.length) causes.push(required('spec.template.spec.containers'));
    else
      cs.forEach((c, i) => {
        if (!c?.name) causes.push(required(`spec.template.spec.containers[${i}].name`));
        if (!c?.image) causes.push(required(`spec.template.spec.containers[${i}].image`));
      });
  }
  if (old) {
    const immutable = (field: string, a: unknown, b: unknown): void => {
      if (!deepEqual(a, b))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(a ?? null)}: field is immutable`,
          field,
        });
    };
    immutable('spec.selector', s.selector, oldSpec?.selector);
    immutable('spec.completions', s.completions, oldSpec?.completions);
    immutable('spec.completionMode', s.completionMode, oldSpec?.completionMode);
    // Upstream lets a suspended job's scheduling directives change; the simulator keeps the whole template fixed.
    immutable('spec.template', s.template, oldSpec?.template);
  }
}

export function isJobFinished(j: Job): boolean {
  return (j.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

function podControlledBy(p: Pod, job: Job): boolean {
  return (p.metadata?.ownerReferences ?? []).some(
    (r) => r.controller === true && r.uid === job.metadata.uid,
  );
}

function terminatedAt(p: Pod): number {
  let t = 0;
  for (const cs of p.status?.containerStatuses ?? []) {
    const f = Date.parse(cs.state?.terminated?.finishedAt ?? '');
    if (Number.isFinite(f) && f > t) t = f;
  }
  return t || Date.parse(p.metadata?.creationTimestamp ?? '') || 0;
}

function restartsOf(p: Pod): number {
  let n = 0;
  for (const cs of [
    ...(p.status?.initContainerStatuses ?? []),
    ...(p.status?.containerStatuses ?? []),
  ])
    n += countOr(cs.restartCount, 0);
  return n;
}

function condition(type: string, reason: string, message: string, now: string): Condition {
  return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
}

/**
 * The job controller. Counts come from the job's pods (the simulator keeps finished pods until the
 * job goes; upstream tracks them with a pod finalizer), and never go down, so a finished pod that
 * is deleted by hand still counts.
 */
export class JobController {
  constructor(
    private readonly registry: Registry,
    private readonly recorder: EventRecorder,
    private readonly timing: SimTiming,
  ) {}

  /** Back-off before a replacement pod after `failures` failed pods (upstream: 10 s doubling, capped at 6 min). */
  private backoffMs(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.timing.jobBackoffMs * 2 ** (failures - 1), this.timing.jobBackoffMs * 32);
  }

  sync(job: Stored<Job>, now = Date.now()): void {
    if (job.metadata.deletionTimestamp) return;
    const ns = job.metadata.namespace;
    const spec: JobSpec = job.spec ?? {};
    const pods = this.registry.listWhere(PODS, ns, (p) =>
      podControlledBy(p as Pod, job),
    ) as Stored<Pod>[];
    const active = pods.filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed',
    );
    const terminating = pods.filter(
      (p) =>
        p.metadata.deletionTimestamp &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed',
    );
    const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
    const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
    const prev: JobStatus = job.status ?? {};
    const succeeded = Math.max(countOr(prev.succeeded, 0), succeededPods.length);
    const failed = Math.max(countOr(prev.failed, 0), failedPods.length);
    const status: JobStatus = structuredClone(prev);
    const nowStr = rfc3339(now);
    const conditions: Condition[] = [...(status.conditions ?? [])];
    const has = (type: string): boolean =>
      conditions.some((c) => c.type === type && c.status === 'True');

    if (isJobFinished(job)) {
      // Finished: the remaining active pods go (a failed job's), and a TTL may delete the job.
      for (const p of active) this.deletePod(job, p);
      this.expire(job, now);
      return;
    }
    if (spec.suspend === true) {
      for (const p of active) this.deletePod(job, p);
      if (!has('Suspended')) {
        conditions.push({ ...condition('Suspended', 'JobSuspended', 'Job suspended', nowStr) });
        this.recorder.record(job, 'Normal', 'Suspended', 'Job suspended', SRC);
      }
      delete status.startTime;
      this.writeStatus(job, {
        ...status,
        conditions,
        active: 0,
        ready: 0,
        terminating: terminating.length,
        succeeded,
        failed,
      });
      return;
    }
    const resumed = conditions.findIndex((c) => c.type === 'Suspended' && c.status === 'True');
    if (resumed >= 0) {
      conditions[resumed] = {
        ...condition('Suspended', 'JobResumed', 'Job resumed', nowStr),
        status: 'False',
      };
      this.recorder.record(job, 'Normal', 'Resumed', 'Job resumed', SRC);
    }
    status.startTime ??= nowStr;

    const backoffLimit = countOr(spec.backoffLimit, 6);
    const onFailure = spec.template?.spec?.restartPolicy === 'OnFailure';
    const restarts = onFailure ? active.reduce((n, p) => n + restartsOf(p), 0) : 0;
    const pastBackoff = onFailure
      ? (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit) || failed > backoffLimit
      : failed > backoffLimit;
    const deadline =
      typeof spec.activeDeadlineSeconds === 'number'
        ? Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000
        : Infinity;
    let failure: { reason: string; message: string } | undefined;
    if (pastBackoff)
      failure = {
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      };
    else if (now >= deadline)
      failure = {
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified deadline',
      };

    const completions =
      spec.completions === undefined || spec.completions === null
        ? undefined
        : countOr(spec.completions, 1);
    const complete =
      !failure &&
      (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0);

    if (failure) {
      for (const p of active) this.deletePod(job, p);
      if (!has('FailureTarget'))
        conditions.push(condition('FailureTarget', failure.reason, failure.message, nowStr));
      conditions.push(condition('Failed', failure.reason, failure.message, nowStr));
      this.recorder.record(job, 'Warning', failure.reason, failure.message, SRC);
      this.writeStatus(job, {
        ...status,
        conditions,
        active: 0,
        ready: 0,
        terminating: terminating.length + active.length,
        succeeded,
        failed,
      });
      return;
    }
    if (complete) {
      if (!has('SuccessCriteriaMet'))
        conditions.push(
          condition(
            'SuccessCriteriaMet',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
            nowStr,
          ),
        );
      conditions.push(
        condition(
          'Complete',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
          nowStr,
        ),
      );
      this.recorder.record(job, 'Normal', 'Completed', 'Job completed', SRC);
      this.writeStatus(job, {
        ...status,
        conditions,
        active: 0,
        ready: 0,
        terminating: terminating.length,
        succeeded,
        failed,
        completionTime: nowStr,
      });
      return;
    }

    // Pods wanted now: parallelism, no more than the completions still missing.
    const parallelism = countOr(spec.parallelism, 1);
    const want =
      completions !== undefined
        ? Math.min(parallelism, Math.max(0, completions - succeeded))
        : succeeded > 0
          ? 0
          : parallelism;
    const lastFailure = failedPods.reduce((t, p) => Math.max(t, terminatedAt(p)), 0);
    const waitOver = !failedPods.length || now >= lastFailure + this.backoffMs(failed);
    const replacing = spec.podReplacementPolicy === 'Failed' ? 0 : terminating.length;
    if (active.length + replacing < want && waitOver) {
      for (let i = active.length + replacing; i < want; i++) {
        const created = this.createPod(job);
        if (!created) break;
        active.push(created);
      }
    } else if (active.length > want) {
      for (const p of active.slice(want)) this.deletePod(job, p);
      active.splice(want);
    }
    const ready = active.filter((p) =>
      (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    this.writeStatus(job, {
      ...status,
      conditions: conditions.length ? conditions : undefined,
      active: active.length,
      ready,
      terminating: terminating.length,
      succeeded,
      failed,
    });
  }

  private createPod(job: Stored<Job>): Stored<Pod> | undefined {
    const t: PodTemplateSpec = job.spec?.template ?? {};
    const ns = job.metadata.namespace;
    const annotations: Record<string, string> = { ...(t.metadata?.annotations ?? {}) };
    const runFor = job.metadata.annotations?.[RUN_DURATION_ANNOTATION];
    if (runFor !== undefined && annotations[RUN_DURATION_ANNOTATION] === undefined)
      annotations[RUN_DURATION_ANNOTATION] = runFor;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${job.metadata.name}-`,
        namespace: ns,
        labels: { ...(t.metadata?.labels ?? {}) },
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: job.metadata.name,
            uid: job.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(t.spec ?? {}),
    };
    if (Object.keys(annotations).length) pod.metadata.annotations = annotations;
    try {
      const created = this.registry.create(PODS, ns, pod) as Stored<Pod>;
      this.recorder.record(
        job,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${created.metadata.name}`,
        SRC,
      );
      return created;
    } catch (err) {
      this.recorder.record(
        job,
        'Warning',
        'FailedCreate',
        `Error creating: ${err instanceof Error ? err.message : String(err)}`,
        SRC,
      );
      return undefined;
    }
  }

  private deletePod(job: Stored<Job>, p: Stored<Pod>): void {
    try {
      this.registry.delete(PODS, p.metadata.namespace, p.metadata.name);
      this.recorder.record(
        job,
        'Normal',
        'SuccessfulDelete',
        `Deleted pod: ${p.metadata.name}`,
        SRC,
      );
    } catch {
      // already gone
    }
  }

  /** ttlSecondsAfterFinished: the TTL-after-finished controller deletes the job (and, in the background, its pods). */
  private expire(job: Stored<Job>, now: number): void {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== 'number' || ttl < 0) return;
    const done = (job.status?.conditions ?? []).find(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    const at = Date.parse(job.status?.completionTime ?? done?.lastTransitionTime ?? '');
    if (!Number.isFinite(at) || at + ttl * 1000 > now) return;
    try {
      this.registry.delete(JOBS, job.metadata.namespace, job.metadata.name, {
        propagationPolicy: 'Background',
        preconditions: { uid: job.metadata.uid },
      });
    } catch {
      // raced with another delete
    }
  }

  private writeStatus(job: Stored<Job>, next: JobStatus): void {
    const live = this.registry.tryGet(JOBS, job.metadata.namespace, job.metadata.name) as
      Stored<Job> | undefined;
    if (!live || live.metadata.uid !== job.metadata.uid) return;
    // Zero counts are omitted like the Go types' omitempty; ready/terminating are pointers and stay.
    for (const k of ['active', 'succeeded', 'failed'] as const) if (!next[k]) delete next[k];
    if (!next.conditions) delete next.conditions;
    next.uncountedTerminatedPods ??= {};
    if (deepEqual(next, live.status)) return;
    const body = structuredClone(live);
    body.status = next;
    delete body.metadata.resourceVersion;
    this.registry.update(JOBS, live.metadata.namespace, live.metadata.name, body, {
      subresource: 'status',
    });
  }
}
