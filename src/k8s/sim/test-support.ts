/** Helpers shared by the simulator's own tests (not part of the public API). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonText, type SimTiming } from './types.js';

/** Small delays so that a whole test file runs in seconds. */
export const FAST_TIMING: Partial<SimTiming> = {
  scheduleMs: 10,
  pullMs: 20,
  startMs: 10,
  readyMs: 20,
  crashAfterMs: 40,
  backoffBaseMs: 100,
  backoffMaxMs: 400,
  terminateMs: 40,
  resyncMs: 50,
};

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface KubectlEnv {
  dir: string;
  kubeconfig: string;
  /** Runs `binary` (default: the machine's kubectl, which picks the version matching the server). */
  run(args: string[], timeoutMs?: number, binary?: string): Promise<KubectlResult>;
  spawn(args: string[], binary?: string): ChildProcess;
  cleanup(): void;
}

export const KUBECTL = '/usr/bin/kubectl';
/** kubectl v1.32 explicitly (`/usr/bin/kubectl` dispatches to the version the server reports, v1.33). */
export const KUBECTL_132 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

/** A temp dir with the kubeconfig and a fresh KUBECACHEDIR; runs the real kubectl against it. */
export function kubectlEnv(kubeconfigYaml: string): KubectlEnv {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-sim-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml);
  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    KUBECACHEDIR: join(dir, 'cache'),
    HOME: dir,
  };
  const spawnIt = (args: string[], binary = KUBECTL): ChildProcess =>
    spawn(binary, ['--kubeconfig', kubeconfig, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  return {
    dir,
    kubeconfig,
    spawn: spawnIt,
    run(args, timeoutMs = 20_000, binary = KUBECTL) {
      return new Promise((resolve, reject) => {
        const p = spawnIt(args, binary);
        let stdout = '';
        let stderr = '';
        p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
        p.on('error', (e) => {
          clearTimeout(t);
          reject(e);
        });
        p.on('close', (code) => {
          clearTimeout(t);
          resolve({ code, stdout, stderr });
        });
      });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  stepMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `condition not met within ${timeoutMs} ms${last ? `: ${last instanceof Error ? String(last) : jsonText(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Splits kubectl table output into rows of columns (2+ spaces separate columns). */
export function tableRows(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/\s{2,}/));
}
