/**
 * The dependency scan of a build's workspace, after its build command succeeded: `*.jar`
 * files (name and version from the file name, and from `META-INF/maven/**\/pom.properties`
 * inside when the jar is a real zip, read with the `unzip` CLI), `package-lock.json`
 * (lockfile v1 `dependencies`, v2/v3 `packages`) and `go.sum` (module and version; the
 * `/go.mod` lines repeat a module and are folded in). One list per build, paths relative to
 * the workspace. `.git` and `node_modules` are not walked (a lockfile at the top already lists
 * what node_modules holds).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Dependency } from '../../domain/rules/rule-model.js';

/** Options for {@link scanDependencies}. */
export interface ScanOptions {
  /** Files looked at, at most. Default: 50 000. */
  maxFiles?: number;
  /** Bytes of a lockfile or go.sum read, at most. Default: 20 MiB. */
  maxFileBytes?: number;
  /** Run `unzip` on jars. Default: true. */
  readJars?: boolean;
}

const SKIP_DIRS = new Set(['.git', 'node_modules']);

/** `log4j-core-2.14.1.jar` → log4j-core / 2.14.1: the version starts at the first `-<digit>`. */
export function jarNameVersion(file: string): { name: string; version: string } | null {
  const m = /^(.+?)-(\d[^/]*?)\.jar$/i.exec(file);
  return m ? { name: m[1], version: m[2] } : null;
}

function run(cmd: string, args: string[], maxBuffer = 4 * 1024 * 1024): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, maxBuffer, encoding: 'utf8' }, (err, stdout) =>
      resolve(err ? null : stdout),
    );
  });
}

/** `key=value` lines of a Java properties file (the subset pom.properties uses). */
function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith('!')) continue;
    const i = t.search(/[=:]/);
    if (i > 0) out[t.slice(0, i).trim()] = t.slice(i + 1).trim();
  }
  return out;
}

/** The Maven coordinates recorded inside a jar (a shaded jar carries several), or null when it is no zip. */
export async function jarPomProperties(
  file: string,
): Promise<{ artifactId: string; version: string; entry: string }[] | null> {
  const list = await run('unzip', ['-Z1', file]);
  if (list === null) return null;
  const entries = list
    .split('\n')
    .map((s) => s.trim())
    .filter((e) => /^META-INF\/maven\/.+\/pom\.properties$/.test(e))
    .slice(0, 200);
  const found: { artifactId: string; version: string; entry: string }[] = [];
  for (const entry of entries) {
    // unzip treats its member arguments as wildcard patterns: escape them.
    const text = await run(
      'unzip',
      ['-p', file, entry.replace(/([[\]*?\\])/g, '\\$1')],
      1024 * 1024,
    );
    if (text === null) continue;
    const p = parseProperties(text);
    if (p.artifactId && p.version)
      found.push({ artifactId: p.artifactId, version: p.version, entry });
  }
  return found;
}

/** `name@version` of a lockfile (v2/v3 `packages`, else v1 `dependencies`). */
export function lockfileDependencies(text: string): { name: string; version: string }[] {
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch {
    return [];
  }
  const out: { name: string; version: string }[] = [];
  if (isRecord(lock) && isRecord(lock.packages)) {
    for (const [key, v] of Object.entries(lock.packages)) {
      if (!key || !isRecord(v) || typeof v.version !== 'string' || v.link) continue;
      const i = key.lastIndexOf('node_modules/');
      const name =
        typeof v.name === 'string' ? v.name : i >= 0 ? key.slice(i + 'node_modules/'.length) : null;
      if (name) out.push({ name, version: v.version });
    }
    return out;
  }
  const walk = (deps: unknown): void => {
    if (!isRecord(deps)) return;
    for (const [name, v] of Object.entries(deps)) {
      if (!isRecord(v)) continue;
      if (typeof v.version === 'string') out.push({ name, version: v.version });
      walk(v.dependencies);
    }
  };
  if (isRecord(lock)) walk(lock.dependencies);
  return out;
}

/** A JSON object (or array): its fields are still to be checked. */
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** `module version` of a go.sum, each once (`/go.mod` lines folded into their module's version). */
export function goSumDependencies(text: string): { name: string; version: string }[] {
  const seen = new Set<string>();
  const out: { name: string; version: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [mod, ver] = line.trim().split(/\s+/);
    if (!mod || !ver) continue;
    const version = ver.replace(/\/go\.mod$/, '');
    const key = `${mod} ${version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name: mod, version });
  }
  return out;
}

/** Every dependency found under `root`, in a stable order. */
export async function scanDependencies(
  root: string,
  opts: ScanOptions = {},
): Promise<Dependency[]> {
  const maxFiles = opts.maxFiles ?? 50_000;
  const maxBytes = opts.maxFileBytes ?? 20 * 1024 * 1024;
  const found: Dependency[] = [];
  const rel = (p: string): string => relative(root, p).split(sep).join('/');
  let files = 0;
  const dirs = [root];
  while (dirs.length && files < maxFiles) {
    const dir = dirs.shift()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      // Symbolic links are not followed: a build could point one anywhere on the worker.
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) dirs.push(p);
        continue;
      }
      if (!e.isFile() || ++files > maxFiles) continue;
      if (/\.jar$/i.test(e.name)) {
        const path = rel(p);
        const inside = opts.readJars === false ? null : await jarPomProperties(p);
        if (inside && inside.length) {
          for (const i of inside)
            found.push({
              name: i.artifactId,
              version: i.version,
              path: inside.length > 1 ? `${path}!/${i.entry}` : path,
            });
        } else {
          const nv = jarNameVersion(e.name);
          if (nv) found.push({ ...nv, path });
        }
      } else if (e.name === 'package-lock.json' || e.name === 'go.sum') {
        const size = (await stat(p)).size;
        if (size > maxBytes) continue;
        const text = await readFile(p, 'utf8');
        const path = rel(p);
        const list = e.name === 'go.sum' ? goSumDependencies(text) : lockfileDependencies(text);
        for (const d of list) found.push({ ...d, path });
      }
    }
  }
  const seen = new Set<string>();
  return found.filter((d) => {
    const k = `${d.name}\u0000${d.version}\u0000${d.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
