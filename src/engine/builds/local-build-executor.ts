/**
 * The local executor (PHANTOM_BUILD_EXECUTOR=local, the default): `git clone` into a fresh
 * workspace under `<PHANTOM_DATA_DIR>/builds`, `sh -c <buildCommand>` in the checkout, the
 * dependency scan, and the workspace removed afterwards. It runs the app's build command **on
 * the worker's host**, as the worker's user: fine for one team's embedded Phantom, not for a
 * shared one (README "Builds" recommends the Kubernetes executor in production).
 *
 * Every process runs in its own process group (`detached`), and the whole group is killed on
 * the time limit, on a cancel and when the build ends, so nothing a build started outlives it.
 * The build sees a minimal environment (PATH, LANG, a HOME and TMPDIR of its own, and
 * PHANTOM_BUILD_* facts), never Phantom's own: database URLs, tokens and keys stay out. Only
 * `git clone` gets the worker's HOME (deploy keys, credential helpers configured there).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { repositoryForDisplay } from '../../domain/apps/app.validation.js';
import {
  buildImage,
  type BuildExecutor,
  type BuildIo,
  type BuildJob,
  type BuildOutcome,
} from './build-executor.js';
import { scanDependencies } from './dependency-scan.js';

/** Longest log line kept (longer ones are cut, saying so). */
export const MAX_LINE_CHARS = 8192;

/** Options for {@link LocalBuildExecutor}. */
export interface LocalBuildExecutorOptions {
  /** Workspaces go under `<dataDir>/builds`. */
  dataDir: string;
  /** Between SIGTERM and SIGKILL of a process group. Default: 2000 ms. */
  killGraceMs?: number;
}

/** Splits a byte stream into lines, cutting very long ones. */
function lineSplitter(emit: (line: string) => void): { write(chunk: Buffer): void; end(): void } {
  let rest = '';
  const out = (l: string): void =>
    emit(
      l.length > MAX_LINE_CHARS
        ? `${l.slice(0, MAX_LINE_CHARS)} … [line cut at ${MAX_LINE_CHARS} characters]`
        : l,
    );
  return {
    write(chunk) {
      rest += chunk.toString('utf8');
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        out(rest.slice(0, i).replace(/\r$/, ''));
        rest = rest.slice(i + 1);
      }
      if (rest.length > MAX_LINE_CHARS * 4) {
        out(rest);
        rest = '';
      }
    },
    end() {
      if (rest) out(rest.replace(/\r$/, ''));
      rest = '';
    },
  };
}

interface ProcResult {
  code: number | null;
  /** Why it was stopped: 'timeout', or the abort reason's message. */
  stopped: string | null;
  stdout: string;
}

/** Whether process `pid` runs on this host. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LocalBuildExecutor implements BuildExecutor {
  readonly name = 'local';
  private swept?: Promise<string[]>;

  constructor(private readonly opts: LocalBuildExecutorOptions) {}

  /**
   * Removes the workspaces a worker left behind when it died mid-build: those named after a
   * process that no longer runs, and those named after this process's id (left by an earlier
   * life of a worker that got the same id, as in a container; nothing of this one runs yet).
   * A workspace of another live worker sharing the data dir is kept. Runs once, before the
   * first build; returns what it removed.
   */
  sweep(): Promise<string[]> {
    this.swept ??= (async () => {
      const root = join(this.opts.dataDir, 'builds');
      let names: string[];
      try {
        names = await readdir(root);
      } catch {
        return [];
      }
      const stale = names.filter((n) => {
        const m = /-p(\d+)-[^-]+$/.exec(n);
        if (!m) return false;
        const pid = Number(m[1]);
        return pid === process.pid || !alive(pid);
      });
      for (const n of stale)
        await rm(join(root, n), { recursive: true, force: true }).catch(() => undefined);
      return stale;
    })();
    return this.swept;
  }

  /**
   * Runs `cmd args` in its own process group; lines of stdout/stderr go to `io.log` (unless
   * `capture`: then stdout is returned). Stops the group at `deadline` or on `io.signal`.
   */
  private exec(
    cmd: string,
    args: string[],
    o: { cwd: string; env: NodeJS.ProcessEnv; io: BuildIo; deadline: number; capture?: boolean },
  ): Promise<ProcResult> {
    return new Promise((resolve) => {
      const child = spawn(cmd, args, {
        cwd: o.cwd,
        env: o.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stopped: string | null = null;
      let stdout = '';
      let exited = false;
      const outLines = lineSplitter((l) => o.io.log(l));
      const errLines = lineSplitter((l) => o.io.log(l));
      child.stdout.on('data', (c: Buffer) =>
        o.capture ? (stdout += c.toString('utf8')) : outLines.write(c),
      );
      child.stderr.on('data', (c: Buffer) => errLines.write(c));
      const killGroup = (sig: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // The group is gone already.
        }
      };
      let hard: NodeJS.Timeout | undefined;
      const stop = (why: string): void => {
        if (stopped !== null || exited) return;
        stopped = why;
        killGroup('SIGTERM');
        hard = setTimeout(() => killGroup('SIGKILL'), this.opts.killGraceMs ?? 2000);
        hard.unref();
      };
      const timer = setTimeout(() => stop('timeout'), Math.max(0, o.deadline - Date.now()));
      timer.unref();
      const onAbort = (): void =>
        stop((o.io.signal.reason as Error | undefined)?.message ?? 'stopped');
      if (o.io.signal.aborted) onAbort();
      else o.io.signal.addEventListener('abort', onAbort, { once: true });
      child.on('exit', () => {
        exited = true;
        // Whatever the build left running in its group goes with it.
        killGroup('SIGKILL');
      });
      child.on('error', (err) => o.io.log(`[phantom] could not start ${cmd}: ${err.message}`));
      child.on('close', (code) => {
        clearTimeout(timer);
        clearTimeout(hard);
        o.io.signal.removeEventListener('abort', onAbort);
        outLines.end();
        errLines.end();
        resolve({ code, stopped, stdout });
      });
    });
  }

  async run(job: BuildJob, io: BuildIo): Promise<BuildOutcome> {
    const deadline = Date.now() + job.timeoutMs;
    await this.sweep();
    const root = join(this.opts.dataDir, 'builds');
    await mkdir(root, { recursive: true });
    // The worker's process id in the name: a later sweep can tell a dead worker's workspace.
    const ws = await mkdtemp(join(root, `${job.app}-${job.number}-p${process.pid}-`));
    const src = join(ws, 'src');
    const home = join(ws, 'home');
    const tmp = join(ws, 'tmp');
    await mkdir(home);
    await mkdir(tmp);
    let commit: string | null = null;
    const seconds = Math.round(job.timeoutMs / 1000);
    const fail = (message: string): BuildOutcome => ({
      ok: false,
      commit,
      image: null,
      dependencies: null,
      message,
    });
    // The environment of everything the build runs: nothing of Phantom's own (no database URL,
    // no Redis URL, no tokens), only what tools need and facts about the build.
    const base: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: process.env.LANG ?? 'C.UTF-8',
      ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
      HOME: home,
      TMPDIR: tmp,
      // git must never wait for a password on a terminal nobody sees.
      GIT_TERMINAL_PROMPT: '0',
    };
    const stopReason = (r: ProcResult, what: string): string =>
      r.stopped === 'timeout'
        ? `The build ran past its time limit (PHANTOM_BUILD_TIMEOUT_SECONDS = ${seconds} s) during ${what} and was stopped.`
        : r.stopped!;
    try {
      io.log(
        `[phantom] cloning ${repositoryForDisplay(job.repository)} at ${job.ref ?? 'the default branch'}`,
      );
      // The clone alone sees the worker's HOME (and ssh agent): the deploy keys and credential
      // helpers an operator configured for fetching code. The build command never does.
      const cloneEnv: NodeJS.ProcessEnv = {
        ...base,
        HOME: process.env.HOME ?? home,
        ...(process.env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK } : {}),
      };
      const clone = await this.exec('git', ['clone', '--quiet', '--', job.repository, src], {
        cwd: ws,
        env: cloneEnv,
        io,
        deadline,
      });
      if (clone.stopped) return fail(stopReason(clone, 'the clone'));
      if (clone.code !== 0)
        return fail(
          `git clone of ${repositoryForDisplay(job.repository)} failed (exit code ${clone.code}): see the log.`,
        );
      const git = (args: string[]) =>
        this.exec('git', args, { cwd: src, env: base, io, deadline, capture: true });
      if (job.ref) {
        let sha: string | null = null;
        for (const candidate of [`${job.ref}^{commit}`, `origin/${job.ref}^{commit}`]) {
          const r = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', candidate]);
          if (r.stopped) return fail(stopReason(r, 'the checkout'));
          if (r.code === 0 && r.stdout.trim()) {
            sha = r.stdout.trim();
            break;
          }
        }
        if (!sha)
          return fail(
            `"${job.ref}" is no branch, tag or commit of ${repositoryForDisplay(job.repository)}.`,
          );
        const co = await git([
          '-c',
          'advice.detachedHead=false',
          'checkout',
          '--quiet',
          '--detach',
          sha,
        ]);
        if (co.stopped) return fail(stopReason(co, 'the checkout'));
        if (co.code !== 0) return fail(`git checkout of ${job.ref} failed (exit code ${co.code}).`);
      }
      const head = await git(['rev-parse', 'HEAD']);
      if (head.stopped) return fail(stopReason(head, 'the checkout'));
      commit = head.code === 0 ? head.stdout.trim() : null;
      if (!commit) return fail('The clone has no commit to build (an empty repository?).');
      const image = buildImage(job.registry, job.app, job.number, commit);
      io.log(`[phantom] commit ${commit}; running the build command`);
      const env: NodeJS.ProcessEnv = {
        ...base,
        PHANTOM_BUILD_ID: String(job.buildId),
        PHANTOM_BUILD_NUMBER: String(job.number),
        PHANTOM_BUILD_APP: job.app,
        PHANTOM_BUILD_COMMIT: commit,
        PHANTOM_BUILD_REF: job.ref ?? '',
        PHANTOM_BUILD_IMAGE: image,
      };
      const r = await this.exec('sh', ['-c', job.buildCommand], { cwd: src, env, io, deadline });
      if (r.stopped) return fail(stopReason(r, 'the build command'));
      if (r.code !== 0)
        return fail(
          `The build command exited with code ${r.code ?? 'unknown (killed by a signal)'}.`,
        );
      const dependencies = await scanDependencies(src);
      io.log(
        `[phantom] build command succeeded; ${dependencies.length} ${dependencies.length === 1 ? 'dependency' : 'dependencies'} found; image ${image}`,
      );
      return {
        ok: true,
        commit,
        image,
        dependencies,
        message: `Built ${image} from ${commit.slice(0, 12)}; ${dependencies.length} ${dependencies.length === 1 ? 'dependency' : 'dependencies'} scanned.`,
      };
    } finally {
      await rm(ws, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
