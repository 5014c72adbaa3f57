/**
 * Where a build runs. The build engine hands an executor one job and a log sink; the executor
 * fetches the source at the ref, runs the build command with a time limit, scans the result
 * for dependencies and answers with the commit, the image and what it found. The local
 * executor (`local-build-executor.ts`, PHANTOM_BUILD_EXECUTOR=local) runs it on the worker's
 * host; a Kubernetes executor runs the same job as a batch/v1 Job through the runtime.
 */
import type { Dependency } from '../../domain/rules/rule-model.js';

/** One build to run. */
export interface BuildJob {
  buildId: number;
  app: string;
  number: number;
  /** The git URL to clone (any scheme git accepts, file:// included). */
  repository: string;
  /** Branch, tag or commit; null = the remote's default branch. */
  ref: string | null;
  /** Run with `sh -c` at the top of the checkout. */
  buildCommand: string;
  /** The image is `<registry>/<app>:<number>-<shortsha>`. */
  registry: string;
  /** Time limit of the whole build (clone included), ms. */
  timeoutMs: number;
}

/** What a build came to. */
export interface BuildOutcome {
  ok: boolean;
  /** The commit built (null when the clone failed). */
  commit: string | null;
  image: string | null;
  dependencies: Dependency[] | null;
  /** What happened, for people ("The build command exited with code 2"). */
  message: string;
}

/** What the engine gives an executor besides the job. */
export interface BuildIo {
  /** One log line (no newline). */
  log(line: string): void;
  /**
   * Aborted when the build must stop now (cancelBuild, the claim was lost, the worker stops);
   * `signal.reason` is an Error whose message says why. The executor kills what it started
   * and answers (a lost claim's answer is thrown away).
   */
  signal: AbortSignal;
}

export interface BuildExecutor {
  readonly name: string;
  run(job: BuildJob, io: BuildIo): Promise<BuildOutcome>;
}

/** The image of a build: `<registry>/<app>:<number>-<first 7 hex digits of the commit>`. */
export const buildImage = (registry: string, app: string, number: number, commit: string): string =>
  `${registry.replace(/\/+$/, '')}/${app}:${number}-${commit.slice(0, 7)}`;
