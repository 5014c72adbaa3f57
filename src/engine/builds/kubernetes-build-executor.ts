/**
 * The Kubernetes executor (PHANTOM_BUILD_EXECUTOR=kubernetes): the same build as a batch/v1
 * Job through the runtime (`ClusterRuntime.runJob`), so the app's build command runs in a pod
 * of the build cluster, not on the worker's host.
 *
 * The worker only resolves the ref to a commit (`git ls-remote`: no checkout, nothing of the
 * app runs here); the Job clones the repository, checks out exactly that commit, runs the
 * build command, and lists the jars it finds (`PHANTOM_JAR <path>` lines) for the dependency
 * scan. Its pods' logs become the build log once the Job ended; progress (Job created, pod
 * phases) is logged while it runs. A cancel or the time limit deletes the Job and its pods;
 * `activeDeadlineSeconds` makes the cluster enforce the limit too.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ClusterRuntime } from '../../k8s/cluster-runtime.js';
import { repositoryForDisplay } from '../../domain/apps/app.validation.js';
import type { Dependency } from '../../domain/rules/rule-model.js';
import {
  buildImage,
  type BuildExecutor,
  type BuildIo,
  type BuildJob,
  type BuildOutcome,
} from './build-executor.js';
import { jarNameVersion } from './dependency-scan.js';

/** Options for {@link KubernetesBuildExecutor}. */
export interface KubernetesBuildExecutorOptions {
  runtime: ClusterRuntime;
  /** The build cluster (PHANTOM_BUILD_K8S_CLUSTER; default: the runtime's first cluster). */
  cluster: string;
  /** PHANTOM_BUILD_K8S_NAMESPACE (default `phantom-builds`). */
  namespace: string;
  /** The builder image: git, sh and the apps' toolchains (PHANTOM_BUILD_K8S_IMAGE). */
  image: string;
  /** How often the Job is looked at. Default: 1000 ms. */
  pollMs?: number;
}

/** The script the Job's container runs (inputs come as environment variables, never spliced into it). */
export const JOB_SCRIPT = [
  'set -e',
  'git clone --quiet -- "$PHANTOM_BUILD_REPOSITORY" /tmp/src',
  'cd /tmp/src',
  'git -c advice.detachedHead=false checkout --quiet --detach "$PHANTOM_BUILD_COMMIT"',
  'sh -c "$PHANTOM_BUILD_COMMAND"',
  "find . -name '*.jar' -not -path './.git/*' | sed 's|^\\./|PHANTOM_JAR |'",
].join('\n');

/** Resolves `ref` (null: the default branch) to a commit with `git ls-remote`; null when there is none. */
export function lsRemote(
  repository: string,
  ref: string | null,
  deadline: number,
  signal: AbortSignal,
): Promise<{ sha: string | null; error: string | null }> {
  if (ref && /^[0-9a-f]{40}$/.test(ref)) return Promise.resolve({ sha: ref, error: null });
  return new Promise((resolve) => {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/',
      GIT_TERMINAL_PROMPT: '0',
      LANG: 'C.UTF-8',
    };
    const args = ref
      ? ['ls-remote', '--', repository, ref, `refs/tags/${ref}^{}`]
      : ['ls-remote', '--symref', '--', repository, 'HEAD'];
    execFile(
      'git',
      args,
      {
        env,
        timeout: Math.max(1000, deadline - Date.now()),
        signal,
        maxBuffer: 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err)
          return resolve({
            sha: null,
            error: (stderr || err.message).trim().split('\n').slice(-1)[0] ?? err.message,
          });
        const rows = stdout
          .split('\n')
          .map((l) => l.split('\t'))
          .filter((r) => /^[0-9a-f]{40}$/.test(r[0] ?? ''));
        const pick = (name: string) => rows.find((r) => r[1] === name)?.[0];
        const sha = ref
          ? (pick(`refs/tags/${ref}^{}`) ??
            pick(`refs/heads/${ref}`) ??
            pick(`refs/tags/${ref}`) ??
            pick(ref))
          : pick('HEAD');
        resolve({ sha: sha ?? null, error: null });
      },
    );
  });
}

export class KubernetesBuildExecutor implements BuildExecutor {
  readonly name = 'kubernetes';

  constructor(private readonly opts: KubernetesBuildExecutorOptions) {}

  async run(job: BuildJob, io: BuildIo): Promise<BuildOutcome> {
    const deadline = Date.now() + job.timeoutMs;
    const repo = repositoryForDisplay(job.repository);
    const seconds = Math.round(job.timeoutMs / 1000);
    const fail = (message: string, commit: string | null = null): BuildOutcome => ({
      ok: false,
      commit,
      image: null,
      dependencies: null,
      message,
    });
    io.log(`[phantom] resolving ${job.ref ?? 'the default branch'} of ${repo}`);
    const r = await lsRemote(job.repository, job.ref, deadline, io.signal);
    if (io.signal.aborted)
      return fail((io.signal.reason as Error | undefined)?.message ?? 'stopped');
    if (r.error) return fail(`git ls-remote of ${repo} failed: ${r.error}`);
    if (!r.sha) return fail(`"${job.ref ?? 'HEAD'}" is no branch, tag or commit of ${repo}.`);
    const commit = r.sha;
    const image = buildImage(job.registry, job.app, job.number, commit);
    const name = `phantom-build-${job.buildId}-${randomBytes(3).toString('hex')}`;
    io.log(
      `[phantom] commit ${commit}; building in Job ${name} on ${this.opts.cluster}/${this.opts.namespace}`,
    );
    const out = await this.opts.runtime.runJob(
      { cluster: this.opts.cluster, namespace: this.opts.namespace },
      {
        name,
        image: this.opts.image,
        command: ['sh', '-c', JOB_SCRIPT],
        env: {
          PHANTOM_BUILD_REPOSITORY: job.repository,
          PHANTOM_BUILD_COMMIT: commit,
          PHANTOM_BUILD_COMMAND: job.buildCommand,
          PHANTOM_BUILD_ID: String(job.buildId),
          PHANTOM_BUILD_NUMBER: String(job.number),
          PHANTOM_BUILD_APP: job.app,
          PHANTOM_BUILD_REF: job.ref ?? '',
          PHANTOM_BUILD_IMAGE: image,
        },
        labels: { 'phantom.io/build-app': job.app, 'phantom.io/build-number': String(job.number) },
        deadlineSeconds: Math.max(1, seconds),
      },
      {
        signal: io.signal,
        deadline,
        pollMs: this.opts.pollMs,
        onEvent: (m) => io.log(`[phantom] ${m}`),
      },
    );
    const deps: Dependency[] = [];
    for (const line of out.logs) {
      const m = /^PHANTOM_JAR (.+)$/.exec(line);
      if (m) {
        const path = m[1].trim();
        const nv = jarNameVersion(path.split('/').pop()!);
        if (nv) deps.push({ ...nv, path });
        continue;
      }
      io.log(line);
    }
    if (out.error) return fail(`The build cluster failed: ${out.error}`, commit);
    if (!out.succeeded) {
      if (out.message === 'timeout')
        return fail(
          `The build ran past its time limit (PHANTOM_BUILD_TIMEOUT_SECONDS = ${seconds} s) and its Job was deleted.`,
          commit,
        );
      return fail(io.signal.aborted ? out.message : `${out.message}: see the log.`, commit);
    }
    io.log(`[phantom] ${out.message}; ${deps.length} jars found; image ${image}`);
    return {
      ok: true,
      commit,
      image,
      dependencies: deps,
      message: `Built ${image} from ${commit.slice(0, 12)} in Job ${name}; ${deps.length} ${deps.length === 1 ? 'dependency' : 'dependencies'} scanned.`,
    };
  }
}
