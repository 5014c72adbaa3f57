/**
 * The simulated kubelet (and scheduler): moves pods Pending → ContainerCreating → Running → Ready after the
 * configured delays, emits the kubelet's Events, and injects failures by image tag (`crashloop`, `badpull`).
 */
import { createHash } from 'node:crypto';
import type { EventRecorder } from './event-recorder.js';
import { deepEqual } from './equality.js';
import { parseGoDuration, RUN_DURATION_ANNOTATION } from './jobs.js';
import { rfc3339 } from './names.js';
import type { Store } from './store.js';
import type { Condition, Obj, SimTiming, WatchEventRecord } from './types.js';
import type { Container, Pod, PodSpec, PodStatus, Stored } from './kinds.js';

function imageTag(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const lastColon = noDigest.lastIndexOf(':');
  return lastColon > lastSlash ? noDigest.slice(lastColon + 1) : '';
}

export function isCrashLoopImage(image: string): boolean {
  return imageTag(image).includes('crashloop');
}

export function isBadPullImage(image: string): boolean {
  return imageTag(image).includes('badpull');
}

/** Images whose tag ends in `-fail`: the container exits with code 1 after its run time. */
export function isFailImage(image: string): boolean {
  return imageTag(image).endsWith('-fail');
}

/**
 * How long the pod's containers run before they exit (ms), or undefined for a container that
 * runs until it is stopped. Pods of a Job, pods annotated `sim.phantom.dev/run-duration` and
 * pods with a `-fail` image run to completion.
 */
export function runDurationMs(pod: Pod, timing: SimTiming): number | undefined {
  const fromAnnotation = parseGoDuration(pod.metadata?.annotations?.[RUN_DURATION_ANNOTATION]);
  if (fromAnnotation !== undefined) return fromAnnotation;
  const ofJob = (pod.metadata?.ownerReferences ?? []).some(
    (r) => r.kind === 'Job' && r.controller === true,
  );
  const containers: Container[] = Array.isArray(pod.spec?.containers) ? pod.spec.containers : [];
  if (ofJob || containers.some((c) => isFailImage(String(c.image)))) return timing.jobRunMs;
  return undefined;
}

function fullImage(image: string): string {
  let ref = image;
  const first = ref.split('/')[0] ?? '';
  if (!ref.includes('/')) ref = `docker.io/library/${ref}`;
  else if (!first.includes('.') && !first.includes(':') && first !== 'localhost')
    ref = `docker.io/${ref}`;
  if (!imageTag(ref) && !ref.includes('@')) ref += ':latest';
  return ref;
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * A pod as the kubelet reads it from the store: the registry has set its name, uid and namespace,
 * and defaulting its spec and status.
 */
type StoredPod = Stored<Pod> & {
  metadata: { namespace: string };
  spec: PodSpec;
  status: PodStatus;
};

type Stage =
  | 'pending'
  | 'creating'
  | 'pulling-failed'
  | 'running'
  | 'ready'
  | 'crashed'
  | 'terminating'
  | 'done';

interface PodRuntime {
  uid: string;
  ns: string;
  name: string;
  stage: Stage;
  timer?: NodeJS.Timeout;
  restarts: number;
  pullFailures: number;
}

/**
 * Sets a pod condition, keeping lastTransitionTime when the status is unchanged. A pod has
 * `status.conditions` from scheduling on (schedule() creates them), which is why the later
 * stages pass `p.status.conditions!`.
 */
function setCondition(
  conds: Condition[],
  type: string,
  status: string,
  reason?: string,
  message?: string,
): void {
  const now = rfc3339();
  const i = conds.findIndex((c) => c.type === type);
  const prev = i >= 0 ? conds[i] : undefined;
  const c: Condition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
  };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  if (i >= 0) conds[i] = c;
  else conds.push(c);
}

const CONDITION_ORDER = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
];

export class Kubelet {
  private readonly pods = new Map<string, PodRuntime>();
  private nextIp = 2;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly recorder: EventRecorder,
    private readonly timing: SimTiming,
    readonly nodeName: string,
  ) {
    this.unsubscribe = store.subscribe((e) => this.onEvent(e));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const p of this.pods.values()) if (p.timer) clearTimeout(p.timer);
    this.pods.clear();
  }

  private onEvent(e: WatchEventRecord): void {
    if (e.storeKey !== 'pods' || this.closed) return;
    const pod = e.object as StoredPod;
    const uid = pod.metadata.uid;
    if (e.type === 'DELETED') {
      const rt = this.pods.get(uid);
      if (rt?.timer) clearTimeout(rt.timer);
      this.pods.delete(uid);
      return;
    }
    let rt = this.pods.get(uid);
    if (!rt) {
      rt = {
        uid,
        ns: pod.metadata.namespace,
        name: pod.metadata.name,
        stage: 'pending',
        restarts: 0,
        pullFailures: 0,
      };
      this.pods.set(uid, rt);
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      if (!pod.metadata.deletionTimestamp)
        this.after(rt, this.timing.scheduleMs, () => this.schedule(rt as PodRuntime));
    }
    if (pod.metadata.deletionTimestamp && rt.stage !== 'terminating') this.terminate(rt, pod);
  }

  /**
   * Takes over the pods of a store loaded from disk (a restarted kubelet whose containers kept
   * running): ready pods stay as they are, terminating ones finish, finished ones are left
   * alone, and the others start their lifecycle again from scheduling.
   */
  adopt(pods: Obj[]): void {
    for (const pod of pods as StoredPod[]) {
      const uid = pod.metadata.uid;
      if (this.pods.has(uid)) continue;
      const statuses = pod.status?.containerStatuses ?? [];
      const rt: PodRuntime = {
        uid,
        ns: pod.metadata.namespace,
        name: pod.metadata.name,
        stage: 'pending',
        restarts: Math.max(0, ...statuses.map((cs) => Number(cs.restartCount) || 0)),
        pullFailures: 0,
      };
      this.pods.set(uid, rt);
      if (pod.metadata.deletionTimestamp) this.terminate(rt, pod);
      else if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      else if (
        pod.status?.phase === 'Running' &&
        statuses.length > 0 &&
        statuses.every((cs) => cs.ready)
      ) {
        rt.stage = 'ready';
        const runMs = runDurationMs(pod, this.timing);
        if (runMs !== undefined) {
          // A container that runs to completion keeps its clock: it exits when its run time is up.
          const started = Math.min(
            ...statuses.map((cs) => Date.parse(cs.state?.running?.startedAt ?? '') || Date.now()),
          );
          this.after(rt, started + runMs - Date.now(), () => this.exit(rt));
        }
      } else this.after(rt, this.timing.scheduleMs, () => this.schedule(rt));
    }
  }

  private after(rt: PodRuntime, ms: number, fn: () => void): void {
    if (rt.timer) clearTimeout(rt.timer);
    if (this.closed) return;
    rt.timer = setTimeout(
      () => {
        rt.timer = undefined;
        if (this.closed || this.pods.get(rt.uid) !== rt) return;
        try {
          fn();
        } catch {
          // the pod may have been deleted meanwhile
        }
      },
      Math.max(0, ms),
    );
    rt.timer.unref?.();
  }

  /** Reads the live pod, applies `fn`, writes if changed. Returns the new pod, or undefined if it is gone. */
  private mutate(rt: PodRuntime, fn: (pod: StoredPod) => void): StoredPod | undefined {
    const pod = this.store.get('pods', rt.ns, rt.name) as StoredPod | undefined;
    if (!pod || pod.metadata.uid !== rt.uid) return undefined;
    const next = structuredClone(pod);
    fn(next);
    next.status.conditions?.sort(
      (a, b) => CONDITION_ORDER.indexOf(a.type) - CONDITION_ORDER.indexOf(b.type),
    );
    if (deepEqual(next, pod)) return pod;
    return this.store.put('pods', next) as StoredPod;
  }

  private containers(pod: Pod): Container[] {
    return Array.isArray(pod.spec?.containers) ? pod.spec.containers : [];
  }

  private schedule(rt: PodRuntime): void {
    const ip = `10.244.0.${this.nextIp++ % 250 || 250}`;
    const pod = this.mutate(rt, (p) => {
      const now = rfc3339();
      p.spec.nodeName = this.nodeName;
      const st = p.status;
      st.phase = 'Pending';
      st.hostIP = '172.18.0.2';
      st.hostIPs = [{ ip: '172.18.0.2' }];
      st.podIP = ip;
      st.podIPs = [{ ip }];
      st.startTime = now;
      st.conditions ??= [];
      const names = this.containers(p).map((c) => c.name);
      setCondition(st.conditions, 'PodScheduled', 'True');
      setCondition(st.conditions, 'PodReadyToStartContainers', 'False');
      setCondition(st.conditions, 'Initialized', 'True');
      setCondition(
        st.conditions,
        'Ready',
        'False',
        'ContainersNotReady',
        `containers with unready status: [${names.join(' ')}]`,
      );
      setCondition(
        st.conditions,
        'ContainersReady',
        'False',
        'ContainersNotReady',
        `containers with unready status: [${names.join(' ')}]`,
      );
      st.containerStatuses = this.containers(p).map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        lastState: {},
        state: { waiting: { reason: 'ContainerCreating' } },
      }));
    });
    if (!pod) return;
    rt.stage = 'creating';
    this.recorder.record(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${rt.ns}/${rt.name} to ${this.nodeName}`,
      {
        component: 'default-scheduler',
      },
    );
    this.after(rt, this.timing.pullMs, () => this.pull(rt));
  }

  private backoff(n: number): number {
    return Math.min(this.timing.backoffBaseMs * 2 ** Math.max(0, n - 1), this.timing.backoffMaxMs);
  }

  private pull(rt: PodRuntime): void {
    const pod = this.store.get('pods', rt.ns, rt.name) as StoredPod | undefined;
    if (!pod || pod.metadata.uid !== rt.uid) return;
    const src = { component: 'kubelet', host: this.nodeName };
    const bad = this.containers(pod).filter((c) => isBadPullImage(String(c.image)));
    for (const c of this.containers(pod))
      this.recorder.record(
        pod,
        'Normal',
        'Pulling',
        `Pulling image "${c.image}"`,
        src,
        `spec.containers{${c.name}}`,
      );
    if (bad.length) {
      rt.pullFailures++;
      rt.stage = 'pulling-failed';
      const updated = this.mutate(rt, (p) => {
        setCondition(p.status.conditions!, 'PodReadyToStartContainers', 'True');
        for (const cs of p.status.containerStatuses ?? []) {
          const c = bad.find((b) => b.name === cs.name);
          if (c)
            cs.state = {
              waiting: {
                reason: 'ErrImagePull',
                message: `rpc error: code = NotFound desc = failed to pull and unpack image "${fullImage(String(c.image))}": failed to resolve reference "${fullImage(String(c.image))}": not found`,
              },
            };
        }
      });
      if (!updated) return;
      for (const c of bad) {
        this.recorder.record(
          updated,
          'Warning',
          'Failed',
          `Failed to pull image "${c.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${fullImage(String(c.image))}": failed to resolve reference "${fullImage(String(c.image))}": not found`,
          src,
          `spec.containers{${c.name}}`,
        );
        this.recorder.record(
          updated,
          'Warning',
          'Failed',
          'Error: ErrImagePull',
          src,
          `spec.containers{${c.name}}`,
        );
      }
      // ErrImagePull → ImagePullBackOff shortly after, then retry after the back-off.
      this.after(rt, Math.min(this.timing.pullMs, this.backoff(rt.pullFailures)), () => {
        const p2 = this.mutate(rt, (p) => {
          for (const cs of p.status.containerStatuses ?? []) {
            const c = bad.find((b) => b.name === cs.name);
            if (c)
              cs.state = {
                waiting: {
                  reason: 'ImagePullBackOff',
                  message: `Back-off pulling image "${c.image}": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "${fullImage(String(c.image))}": not found`,
                },
              };
          }
        });
        if (!p2) return;
        for (const c of bad) {
          this.recorder.record(
            p2,
            'Normal',
            'BackOff',
            `Back-off pulling image "${c.image}"`,
            src,
            `spec.containers{${c.name}}`,
          );
          this.recorder.record(
            p2,
            'Warning',
            'Failed',
            'Error: ImagePullBackOff',
            src,
            `spec.containers{${c.name}}`,
          );
        }
        this.after(rt, this.backoff(rt.pullFailures), () => this.pull(rt));
      });
      return;
    }
    for (const c of this.containers(pod))
      this.recorder.record(
        pod,
        'Normal',
        'Pulled',
        `Successfully pulled image "${c.image}" in ${(this.timing.pullMs / 1000).toFixed(3)}s (${(this.timing.pullMs / 1000).toFixed(3)}s including waiting). Image size: 72099501 bytes.`,
        src,
        `spec.containers{${c.name}}`,
      );
    this.mutate(rt, (p) => setCondition(p.status.conditions!, 'PodReadyToStartContainers', 'True'));
    this.after(rt, this.timing.startMs, () => this.start(rt));
  }

  private start(rt: PodRuntime): void {
    const src = { component: 'kubelet', host: this.nodeName };
    const pod = this.mutate(rt, (p) => {
      const now = rfc3339();
      p.status.phase = 'Running';
      p.status.containerStatuses = this.containers(p).map((c) => {
        const prev = (p.status.containerStatuses ?? []).find((cs) => cs.name === c.name);
        return {
          name: c.name,
          image: c.image,
          imageID: `${fullImage(String(c.image)).replace(/:[^:/]+$/, '')}@sha256:${sha(String(c.image))}`,
          containerID: `containerd://${sha(`${rt.uid}/${c.name}/${rt.restarts}`)}`,
          ready: false,
          started: true,
          restartCount: rt.restarts,
          lastState: prev?.lastState ?? {},
          state: { running: { startedAt: now } },
        };
      });
    });
    if (!pod) return;
    rt.stage = 'running';
    for (const c of this.containers(pod)) {
      if (rt.restarts > 0)
        this.recorder.record(
          pod,
          'Normal',
          'Pulled',
          `Container image "${c.image}" already present on machine`,
          src,
          `spec.containers{${c.name}}`,
        );
      this.recorder.record(
        pod,
        'Normal',
        'Created',
        `Created container: ${c.name}`,
        src,
        `spec.containers{${c.name}}`,
      );
      this.recorder.record(
        pod,
        'Normal',
        'Started',
        `Started container ${c.name}`,
        src,
        `spec.containers{${c.name}}`,
      );
    }
    if (this.containers(pod).some((c) => isCrashLoopImage(String(c.image)))) {
      this.after(rt, this.timing.crashAfterMs, () => this.crash(rt));
      return;
    }
    const runMs = runDurationMs(pod, this.timing);
    if (runMs === undefined) this.after(rt, this.timing.readyMs, () => this.ready(rt));
    else if (runMs <= this.timing.readyMs) this.after(rt, runMs, () => this.exit(rt));
    else
      this.after(rt, this.timing.readyMs, () => {
        if (this.ready(rt)) this.after(rt, runMs - this.timing.readyMs, () => this.exit(rt));
      });
  }

  private ready(rt: PodRuntime): boolean {
    const pod = this.mutate(rt, (p) => {
      for (const cs of p.status.containerStatuses ?? []) cs.ready = true;
      setCondition(p.status.conditions!, 'Ready', 'True');
      setCondition(p.status.conditions!, 'ContainersReady', 'True');
    });
    if (pod) rt.stage = 'ready';
    return !!pod;
  }

  /**
   * The containers of a pod that runs to completion exit: code 1 for `-fail` images, else 0.
   * With restartPolicy Never (or OnFailure and every exit 0) the pod ends Succeeded or Failed;
   * otherwise the kubelet restarts the containers after a back-off, as for a crash loop.
   */
  private exit(rt: PodRuntime): void {
    const live = this.store.get('pods', rt.ns, rt.name) as StoredPod | undefined;
    if (!live || live.metadata.uid !== rt.uid) return;
    const code = (c: Partial<Container>): number => (isFailImage(String(c.image)) ? 1 : 0);
    const failed = this.containers(live).some((c) => code(c) !== 0);
    const policy = live.spec?.restartPolicy ?? 'Always';
    if (policy === 'Always' || (policy === 'OnFailure' && failed)) {
      this.crash(rt, (c) => code(c) !== 0 || policy === 'Always', code);
      return;
    }
    const pod = this.mutate(rt, (p) => {
      const now = rfc3339();
      for (const cs of p.status.containerStatuses ?? []) {
        const c = this.containers(p).find((x) => x.name === cs.name) ?? {};
        const exitCode = code(c);
        cs.state = {
          terminated: {
            exitCode,
            reason: exitCode ? 'Error' : 'Completed',
            startedAt: cs.state?.running?.startedAt ?? now,
            finishedAt: now,
            containerID: cs.containerID,
          },
        };
        cs.ready = false;
        cs.started = false;
      }
      p.status.phase = failed ? 'Failed' : 'Succeeded';
      const reason = failed ? 'PodFailed' : 'PodCompleted';
      setCondition(p.status.conditions!, 'PodReadyToStartContainers', 'False');
      setCondition(p.status.conditions!, 'Ready', 'False', reason);
      setCondition(p.status.conditions!, 'ContainersReady', 'False', reason);
    });
    if (pod) rt.stage = 'done';
  }

  /**
   * Containers exit (default: the `crashloop` images, code 1): briefly `terminated`, then
   * `CrashLoopBackOff` until the back-off ends and they start again.
   */
  private crash(
    rt: PodRuntime,
    which: (c: Container) => boolean = (c) => isCrashLoopImage(String(c.image)),
    code: (c: Container) => number = () => 1,
  ): void {
    const src = { component: 'kubelet', host: this.nodeName };
    let crashed: Container[] = [];
    const unready = (p: StoredPod, names: string[]): void => {
      setCondition(
        p.status.conditions!,
        'Ready',
        'False',
        'ContainersNotReady',
        `containers with unready status: [${names.join(' ')}]`,
      );
      setCondition(
        p.status.conditions!,
        'ContainersReady',
        'False',
        'ContainersNotReady',
        `containers with unready status: [${names.join(' ')}]`,
      );
    };
    const exited = this.mutate(rt, (p) => {
      const now = rfc3339();
      crashed = this.containers(p).filter(which);
      const names: string[] = [];
      for (const cs of p.status.containerStatuses ?? []) {
        const c = crashed.find((x) => x.name === cs.name);
        if (!c) continue;
        const startedAt = cs.state?.running?.startedAt ?? now;
        const exitCode = code(c);
        cs.state = {
          terminated: {
            exitCode,
            reason: exitCode ? 'Error' : 'Completed',
            startedAt,
            finishedAt: now,
            containerID: cs.containerID,
          },
        };
        cs.ready = false;
        cs.started = false;
        names.push(cs.name!); // validation requires container names
      }
      unready(p, names);
    });
    if (!exited) return;
    rt.stage = 'crashed';
    rt.restarts++;
    const delay = this.backoff(rt.restarts);
    this.after(rt, Math.min(delay, Math.max(1, Math.floor(this.timing.crashAfterMs / 4))), () => {
      const pod = this.mutate(rt, (p) => {
        for (const cs of p.status.containerStatuses ?? []) {
          if (!crashed.some((c) => c.name === cs.name) || !cs.state?.terminated) continue;
          cs.lastState = { terminated: cs.state.terminated };
          cs.state = {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${cs.name} pod=${rt.name}_${rt.ns}(${rt.uid})`,
            },
          };
          cs.restartCount = rt.restarts;
        }
      });
      if (!pod) return;
      for (const c of crashed)
        this.recorder.record(
          pod,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${c.name} in pod ${rt.name}_${rt.ns}(${rt.uid})`,
          src,
          `spec.containers{${c.name}}`,
        );
      this.after(rt, delay, () => this.start(rt));
    });
  }

  private terminate(rt: PodRuntime, pod: StoredPod): void {
    rt.stage = 'terminating';
    const src = { component: 'kubelet', host: this.nodeName };
    if (pod.spec?.nodeName)
      for (const c of this.containers(pod))
        this.recorder.record(
          pod,
          'Normal',
          'Killing',
          `Stopping container ${c.name}`,
          src,
          `spec.containers{${c.name}}`,
        );
    const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000;
    this.after(rt, Math.min(this.timing.terminateMs, graceMs), () => {
      const live = this.store.get('pods', rt.ns, rt.name) as StoredPod | undefined;
      if (live && live.metadata.uid === rt.uid) this.store.remove('pods', rt.ns, rt.name);
    });
  }
}
