import { badInput } from '../shared/errors.js';
import { AppKind, ReleaseStrategy } from './app-kind.js';
import {
  DEFAULT_CONTAINER,
  DEFAULT_RELEASE_CONFIG,
  type ContainerSpec,
  type HpaSpec,
  type ReleaseConfig,
} from './app-spec.js';
import { charLength } from '../shared/text.js';
import { CANARY_SUFFIX } from '../../k8s/manifests.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Kubernetes resource quantities (apimachinery resource.Quantity): a decimal number with a
// binary-SI, decimal-SI or exponent suffix.
const QUANTITY = /^(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const FACTORS: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
/** Sane bounds for one container: Kubernetes allows no CPU below 1m; the tops catch typos. */
const CPU_MIN = 0.001;
const CPU_MAX = 256;
const MEMORY_MIN = 4 * 2 ** 20;
const MEMORY_MAX = 2 * 2 ** 40;

/** The value of a Kubernetes quantity in base units (cores, bytes), or null if it is not one. */
export function parseQuantity(q: string): number | null {
  const m = QUANTITY.exec(q);
  if (!m) return null;
  const suffix = m[3] ?? '';
  const factor = /^[eE][+-]?\d+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : FACTORS[suffix];
  return Number(m[1]) * factor;
}
const COMMAND_MAX = 4000;

export function validateAppName(name: string, field = 'name'): void {
  if (name.length > 40 || !DNS1123_LABEL.test(name)) {
    throw badInput(
      field,
      `"${name}" is not a valid app name: a DNS-1123 label of at most 40 characters (lowercase letters, digits and "-", starting and ending with a letter or digit).`,
    );
  }
  // A CANARY release runs `<app>-canary` beside `<app>`: an app of that name would share it.
  if (name.endsWith(CANARY_SUFFIX)) {
    throw badInput(
      field,
      `"${name}" is not a valid app name: names ending in "${CANARY_SUFFIX}" are reserved for the canary Deployment of "${name.slice(0, -CANARY_SUFFIX.length)}".`,
    );
  }
}

export function validateEnvName(name: string, field = 'name'): void {
  if (name.length > 40 || !DNS1123_LABEL.test(name)) {
    throw badInput(
      field,
      `"${name}" is not a valid environment name: a DNS-1123 label of at most 40 characters.`,
    );
  }
}

function intIn(v: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < min || v > max)
    throw badInput(field, `${field} must be a whole number from ${min} to ${max}.`);
}

export interface ContainerInput {
  replicas?: number | null;
  cpu?: string | null;
  memory?: string | null;
  port?: number | null;
  healthCheckPath?: string | null;
  hpa?: HpaSpec | null;
}

export interface ReleaseConfigInput {
  strategy?: ReleaseStrategy | null;
  autoRollback?: boolean | null;
  autoReleaseEnvs?: string[] | null;
  progressDeadlineSeconds?: number | null;
  canaryReplicas?: number | null;
  canaryPauseSeconds?: number | null;
}

/** Merges `input` over `base` and validates the result. `hpa: null` removes the autoscaler. */
export function buildContainer(
  input: ContainerInput | null | undefined,
  base: ContainerSpec = DEFAULT_CONTAINER,
): ContainerSpec {
  const c: ContainerSpec = { ...base, hpa: base.hpa ? { ...base.hpa } : null };
  if (input) {
    if (input.replicas != null) c.replicas = input.replicas;
    if (input.cpu != null) c.cpu = input.cpu;
    if (input.memory != null) c.memory = input.memory;
    if (input.port != null) c.port = input.port;
    if (input.healthCheckPath != null) c.healthCheckPath = input.healthCheckPath;
    if (input.hpa !== undefined) c.hpa = input.hpa ? { ...input.hpa } : null;
  }
  intIn(c.replicas, 0, 500, 'container.replicas');
  const cpu = parseQuantity(c.cpu);
  if (cpu === null)
    throw badInput('container.cpu', `"${c.cpu}" is not a CPU quantity (e.g. "250m" or "1.5").`);
  if (cpu < CPU_MIN || cpu > CPU_MAX)
    throw badInput('container.cpu', `CPU must be from 1m to ${CPU_MAX} cores, not "${c.cpu}".`);
  const memory = parseQuantity(c.memory);
  if (memory === null)
    throw badInput(
      'container.memory',
      `"${c.memory}" is not a memory quantity (e.g. "256Mi" or "1Gi").`,
    );
  if (memory < MEMORY_MIN || memory > MEMORY_MAX)
    throw badInput('container.memory', `Memory must be from 4Mi to 2Ti, not "${c.memory}".`);
  intIn(c.port, 1, 65535, 'container.port');
  if (
    !c.healthCheckPath.startsWith('/') ||
    c.healthCheckPath.length > 200 ||
    /\s/.test(c.healthCheckPath)
  ) {
    throw badInput(
      'container.healthCheckPath',
      'healthCheckPath must be a URL path starting with "/", without spaces, at most 200 characters.',
    );
  }
  if (c.hpa) {
    intIn(c.hpa.minReplicas, 1, 500, 'container.hpa.minReplicas');
    intIn(c.hpa.maxReplicas, 1, 500, 'container.hpa.maxReplicas');
    intIn(c.hpa.targetCpuUtilization, 1, 100, 'container.hpa.targetCpuUtilization');
    if (c.hpa.minReplicas > c.hpa.maxReplicas)
      throw badInput(
        'container.hpa.minReplicas',
        'hpa.minReplicas must not exceed hpa.maxReplicas.',
      );
  }
  return c;
}

export function buildReleaseConfig(
  input: ReleaseConfigInput | null | undefined,
  base: ReleaseConfig = DEFAULT_RELEASE_CONFIG,
): ReleaseConfig {
  // Rows written before a setting existed lack it: its default applies.
  const r: ReleaseConfig = {
    ...DEFAULT_RELEASE_CONFIG,
    ...base,
    autoReleaseEnvs: [...base.autoReleaseEnvs],
  };
  if (input) {
    if (input.strategy != null) r.strategy = input.strategy;
    if (input.autoRollback != null) r.autoRollback = input.autoRollback;
    if (input.autoReleaseEnvs != null) r.autoReleaseEnvs = [...new Set(input.autoReleaseEnvs)];
    if (input.progressDeadlineSeconds != null)
      r.progressDeadlineSeconds = input.progressDeadlineSeconds;
    if (input.canaryReplicas != null) r.canaryReplicas = input.canaryReplicas;
    if (input.canaryPauseSeconds != null) r.canaryPauseSeconds = input.canaryPauseSeconds;
  }
  intIn(r.progressDeadlineSeconds, 10, 3600, 'releaseConfig.progressDeadlineSeconds');
  intIn(r.canaryReplicas, 1, 50, 'releaseConfig.canaryReplicas');
  intIn(r.canaryPauseSeconds, 0, 86_400, 'releaseConfig.canaryPauseSeconds');
  if (!Object.values(ReleaseStrategy).includes(r.strategy))
    throw badInput('releaseConfig.strategy', 'Unknown release strategy.');
  if (r.autoReleaseEnvs.length > 20)
    throw badInput('releaseConfig.autoReleaseEnvs', 'At most 20 environments.');
  r.autoReleaseEnvs.forEach((e) => validateEnvName(e, 'releaseConfig.autoReleaseEnvs'));
  return r;
}

export function validateKind(kind: AppKind): void {
  if (!Object.values(AppKind).includes(kind)) throw badInput('kind', 'Unknown app kind.');
}

export function validateText(value: string | null | undefined, field: string, max: number): void {
  if (value != null && charLength(value) > max)
    throw badInput(field, `${field} is at most ${max} characters.`);
}

/** Whether `s` holds a control character other than tab and newline: C0 (U+0000–U+001F) or DEL. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c <= 0x1f && c !== 0x09 && c !== 0x0a) || c === 0x7f) return true;
  }
  return false;
}

export function validateCommand(value: string | null | undefined, field: string): void {
  validateText(value, field, COMMAND_MAX);
  // NUL and other control characters (except tab/newline) have no place in a shell command.
  if (value != null && hasControlCharacter(value))
    throw badInput(field, `${field} contains control characters.`);
}

export function validateRepository(value: string | null | undefined): void {
  validateText(value, 'repository', 500);
  // file:// is how tests and closed networks point at a repository on the build host (issue 10).
  if (value && !/^(https?:\/\/|git@|ssh:\/\/|file:\/\/\/)\S+$/.test(value)) {
    throw badInput('repository', 'repository must be an http(s), ssh, git@ or file:/// URL.');
  }
  // Every reader of the app sees this field: a password or token in it would be published.
  if (value && repositoryCredential(value)) {
    throw badInput(
      'repository',
      'repository must not carry credentials (user:password@ or a token before "@"): give the plain URL ' +
        '(e.g. https://git.example.com/team/app.git or git@git.example.com:team/app.git) and grant the build ' +
        'access with a deploy key or a read token configured on the build side, never in the app.',
    );
  }
}

/**
 * The user-info part of an http(s) or ssh:// repository URL when it is a credential: any
 * user-info over http(s) (`https://TOKEN@host/…` is how tokens are pasted), a password over
 * ssh. A bare ssh user (`ssh://git@host/…`, `git@host:…`) is the account name, not a secret.
 */
function repositoryCredential(value: string): string | null {
  const m = /^(https?|ssh):\/\/([^/?#]*)@/i.exec(value);
  if (!m) return null;
  const userInfo = m[2];
  if (m[1].toLowerCase() === 'ssh') return userInfo.includes(':') ? userInfo : null;
  return userInfo;
}

/**
 * `value` without a credential in it (see {@link repositoryCredential}): rows saved before
 * credentials were refused are shown as `https://host/…`, never with the secret.
 */
export function repositoryForDisplay(value: string): string {
  const cred = repositoryCredential(value);
  return cred == null ? value : value.replace(`${cred}@`, '');
}
