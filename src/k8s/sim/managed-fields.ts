/**
 * Field ownership (`metadata.managedFields`) as the apiserver's field manager keeps it
 * (structured-merge-diff), enough for server-side apply: each manager's set of fields in the
 * `FieldsV1` form (`f:` fields, `k:` list items by their keys, `v:` set members, `.` for a
 * node owned as a whole), Update operations taking the fields they change, Apply operations
 * owning exactly the fields of their configuration (fields a manager stops applying are removed
 * unless someone else owns them), and conflicts when an applier would change a field another
 * manager owns (409 with the upstream message; `force` takes the fields over).
 */
import { StatusError } from './errors.js';
import { deepEqual } from './equality.js';
import { rfc3339 } from './names.js';
import type { JsonObject, KObject, ManagedFieldsEntry, Obj } from './types.js';

/** One path element: `f:name`, `k:{"name":"app"}`, `v:"x"`. */
type Path = string[];
/** A set of paths, keyed by JSON of the path. */
export type FieldSet = Map<string, Path>;

/** Associative lists (x-kubernetes-list-type: map) and their keys. */
const LIST_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  imagePullSecrets: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  resourceClaims: ['name'],
};
/** Lists that are sets of scalars (x-kubernetes-list-type: set). */
const SET_LISTS = new Set(['finalizers']);
/** Maps whose node is owned as a whole besides its entries (granular maps of strings/quantities). */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'matchLabels',
  'nodeSelector',
  'data',
  'binaryData',
  'stringData',
  'limits',
  'requests',
]);
/** Metadata fields that are part of the managed set (the rest belong to the system). */
const META_FIELDS = new Set(['labels', 'annotations', 'ownerReferences', 'finalizers']);

function isMap(v: unknown): v is JsonObject {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function keysOf(field: string, items: unknown[]): string[] | undefined {
  if (field === 'ports') {
    // Container ports are keyed by containerPort+protocol, Service ports by port+protocol.
    const first = items.find(isMap);
    if (!first) return undefined;
    return 'containerPort' in first ? ['containerPort', 'protocol'] : ['port', 'protocol'];
  }
  return LIST_KEYS[field];
}

function itemKey(keys: string[], item: JsonObject): string {
  const k: JsonObject = {};
  for (const key of keys) {
    const v = item[key] ?? (key === 'protocol' ? 'TCP' : undefined); // protocol's default is part of the key
    if (v !== undefined) k[key] = v;
  }
  return `k:${JSON.stringify(k)}`;
}

function add(set: FieldSet, path: Path): void {
  set.set(JSON.stringify(path), path);
}

function walk(set: FieldSet, value: unknown, path: Path, field: string): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    const keys = keysOf(field, value);
    if (keys && value.every(isMap)) {
      for (const item of value) {
        const p = [...path, itemKey(keys, item)];
        add(set, p);
        walkObject(set, item, p);
      }
    } else if (SET_LISTS.has(field)) {
      add(set, path);
      for (const v of value) add(set, [...path, `v:${JSON.stringify(v)}`]);
    } else add(set, path);
    return;
  }
  if (isMap(value)) {
    // LabelSelectors are atomic (structType=atomic) — except a Service's selector, a plain map.
    const atomic = field === 'selector' && ('matchLabels' in value || 'matchExpressions' in value);
    if (atomic || !Object.keys(value).length) {
      add(set, path);
      return;
    }
    if (MAP_FIELDS.has(field) || field === 'selector') add(set, path);
    walkObject(set, value, path);
    return;
  }
  add(set, path);
}

function walkObject(set: FieldSet, o: Obj, path: Path): void {
  for (const [k, v] of Object.entries(o)) walk(set, v, [...path, `f:${k}`], k);
}

/**
 * The fields an object (or an apply configuration) sets. `part` selects the main resource
 * (everything but status and system metadata) or the status subresource.
 */
export function fieldSetOf(o: Obj, part: 'main' | 'status' = 'main'): FieldSet {
  const set: FieldSet = new Map();
  if (!isMap(o)) return set;
  if (part === 'status') {
    if (o.status !== undefined) walk(set, o.status, ['f:status'], 'status');
    return set;
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata') {
      if (!isMap(v)) continue;
      for (const [mk, mv] of Object.entries(v))
        if (META_FIELDS.has(mk)) walk(set, mv, ['f:metadata', `f:${mk}`], mk);
      continue;
    }
    walk(set, v, [`f:${k}`], k);
  }
  return set;
}

/** The value at a path (undefined when absent). */
export function valueAt(o: unknown, path: Path): unknown {
  let cur: unknown = o;
  for (const el of path) {
    if (cur === undefined || cur === null) return undefined;
    if (el.startsWith('f:')) cur = isMap(cur) ? cur[el.slice(2)] : undefined;
    else if (el.startsWith('k:')) {
      if (!Array.isArray(cur)) return undefined;
      const want = JSON.parse(el.slice(2)) as Obj;
      const keys = Object.keys(want);
      cur = (cur as unknown[]).find((it) => isMap(it) && itemKey(keys, it) === el);
    } else if (el.startsWith('v:')) {
      if (!Array.isArray(cur)) return undefined;
      const want = JSON.parse(el.slice(2)) as unknown;
      cur = (cur as unknown[]).find((it) => deepEqual(it, want));
    } else return undefined;
  }
  return cur;
}

/** Removes the value at a path (a field, a list item, a set member) from `o`. */
function removeAt(o: Obj, path: Path): void {
  const parent = valueAt(o, path.slice(0, -1));
  const el = path[path.length - 1];
  if (el.startsWith('f:')) {
    if (isMap(parent)) delete parent[el.slice(2)];
    return;
  }
  if (!Array.isArray(parent)) return;
  const target = valueAt(o, path);
  const i = parent.indexOf(target);
  if (i >= 0) parent.splice(i, 1);
}

function prefixesOf(sets: FieldSet[]): Set<string> {
  const out = new Set<string>();
  for (const s of sets)
    for (const p of s.values())
      for (let i = 1; i < p.length; i++) out.add(JSON.stringify(p.slice(0, i)));
  return out;
}

/** Leaves of a set: paths no other path of the set extends. */
function leaves(set: FieldSet): Path[] {
  const pre = prefixesOf([set]);
  return [...set.entries()].filter(([k]) => !pre.has(k)).map(([, p]) => p);
}

/** FieldsV1 (`{"f:spec":{"f:replicas":{}}}`) → set. */
export function fromFieldsV1(
  tree: unknown,
  prefix: Path = [],
  set: FieldSet = new Map(),
): FieldSet {
  if (!isMap(tree)) return set;
  for (const [k, v] of Object.entries(tree)) {
    if (k === '.') {
      add(set, prefix);
      continue;
    }
    const p = [...prefix, k];
    if (isMap(v) && Object.keys(v).length) fromFieldsV1(v, p, set);
    else add(set, p);
  }
  return set;
}

/** Set → FieldsV1, keys sorted as the apiserver writes them (`.` first). */
/** A FieldsV1 tree: every node an object of child nodes. */
export interface FieldsTree {
  [element: string]: FieldsTree;
}

export function toFieldsV1(set: FieldSet): FieldsTree {
  const root: FieldsTree = {};
  for (const p of set.values()) {
    let node = root;
    for (const el of p) node = node[el] ??= {};
  }
  const pre = prefixesOf([set]);
  for (const [k, p] of set) {
    if (!pre.has(k)) continue;
    let node = root;
    for (const el of p) node = node[el];
    node['.'] = {};
  }
  const sort = (n: FieldsTree): FieldsTree => {
    const out: FieldsTree = {};
    for (const k of Object.keys(n).sort((a, b) =>
      a === '.' ? -1 : b === '.' ? 1 : a < b ? -1 : a > b ? 1 : 0,
    ))
      out[k] = sort(n[k]);
    return out;
  };
  return sort(root);
}

/** A path as structured-merge-diff prints it: `.spec.template.spec.containers[name="app"].image`. */
export function pathString(path: Path): string {
  return path
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('k:')) {
        const k = JSON.parse(el.slice(2)) as Obj;
        return `[${Object.entries(k)
          .map(([n, v]) => `${n}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[=${el.slice(2)}]`;
    })
    .join('');
}

interface Entry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
}

function readEntries(mf: unknown): Entry[] {
  if (!Array.isArray(mf)) return [];
  return mf.filter(isMap).map((entry) => {
    const e = entry as ManagedFieldsEntry;
    return {
      manager: String(e.manager ?? ''),
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: String(e.apiVersion ?? ''),
      time: e.time,
      subresource: e.subresource || undefined,
      set: fromFieldsV1(e.fieldsV1),
    };
  });
}

function writeEntries(entries: Entry[]): ManagedFieldsEntry[] | undefined {
  const out = entries
    .filter((e) => e.set.size > 0)
    .map((e) => {
      const o: ManagedFieldsEntry = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(e.set),
      };
      if (e.subresource) o.subresource = e.subresource;
      return o;
    });
  return out.length ? out : undefined;
}

function sameEntry(e: Entry, manager: string, operation: string, subresource?: string): boolean {
  return (
    e.manager === manager &&
    e.operation === operation &&
    (e.subresource ?? '') === (subresource ?? '')
  );
}

function minus(set: FieldSet, drop: Iterable<string>): void {
  for (const k of drop) set.delete(k);
}

/**
 * managedFields after an Update (create, PUT, non-apply PATCH, subresource write) by `manager`:
 * the manager owns the fields it added or changed, nobody keeps fields that are gone, others
 * lose the fields this write changed.
 */
export function updateManagedFields(
  prev: unknown,
  before: Obj | undefined,
  after: Obj,
  manager: string,
  apiVersion: string,
  subresource?: string,
): ManagedFieldsEntry[] | undefined {
  const entries = readEntries(prev);
  const part = subresource === 'status' ? 'status' : 'main';
  const newSet = fieldSetOf(after, part);
  const oldSet = before ? fieldSetOf(before, part) : new Map<string, Path>();
  const changed: string[] = [];
  const inner = prefixesOf([newSet]);
  for (const [k, p] of newSet)
    if (!oldSet.has(k) || (!inner.has(k) && !deepEqual(valueAt(before, p), valueAt(after, p))))
      changed.push(k);
  const removed = [...oldSet.keys()].filter((k) => !newSet.has(k));
  for (const e of entries) {
    minus(e.set, removed);
    if (!sameEntry(e, manager, 'Update', subresource)) minus(e.set, changed);
  }
  let mine = entries.find((e) => sameEntry(e, manager, 'Update', subresource));
  if (!mine && changed.length) {
    mine = { manager, operation: 'Update', apiVersion, subresource, set: new Map() };
    entries.push(mine);
  }
  if (mine && changed.length) {
    for (const k of changed) mine.set.set(k, newSet.get(k) as Path);
    mine.time = rfc3339();
    mine.apiVersion = apiVersion;
  }
  return writeEntries(entries);
}

export interface ApplyResult {
  /** The object with the fields this manager no longer applies (and nobody else owns) removed. */
  object: Obj;
  managedFields: ManagedFieldsEntry[] | undefined;
}

function printManager(e: Entry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update')
    s += e.time ? ` using ${e.apiVersion} at ${e.time}` : ` using ${e.apiVersion}`;
  return s;
}

/**
 * Server-side apply ownership. `live` is the object before, `merged` the result of merging
 * the configuration into it, `applied` the configuration. Throws 409 on conflicts unless `force`.
 */
export function applyManagedFields(
  live: Obj,
  merged: Obj,
  applied: Obj,
  manager: string,
  apiVersion: string,
  force: boolean,
  subresource?: string,
): ApplyResult {
  const entries = readEntries((live as KObject).metadata?.managedFields);
  const part = subresource === 'status' ? 'status' : 'main';
  const config = fieldSetOf(applied, part);
  const conflicts: { entry: Entry; path: Path }[] = [];
  for (const p of leaves(config)) {
    const k = JSON.stringify(p);
    if (deepEqual(valueAt(live, p), valueAt(applied, p))) continue; // same value: shared ownership, no conflict
    for (const e of entries)
      if (e.manager !== manager && e.set.has(k)) conflicts.push({ entry: e, path: p });
  }
  if (
    conflicts.length &&
    !force &&
    !migratingFromClientSideApply(
      live,
      applied,
      manager,
      conflicts.map((c) => c.path),
    )
  )
    throw conflictError(conflicts);
  for (const c of conflicts) c.entry.set.delete(JSON.stringify(c.path));
  let mine = entries.find((e) => sameEntry(e, manager, 'Apply', subresource));
  const previous: FieldSet = mine?.set ?? new Map<string, Path>();
  if (!mine) {
    mine = { manager, operation: 'Apply', apiVersion, subresource, set: new Map() };
    entries.push(mine);
  }
  mine.set = config;
  mine.time = rfc3339();
  mine.apiVersion = apiVersion;
  // Fields this manager applied before and no longer does go, unless another manager owns them.
  const object = structuredClone(merged);
  const kept = prefixesOf(entries.map((e) => e.set));
  const owned = new Set(entries.flatMap((e) => [...e.set.keys()]));
  const dropped = [...previous.entries()]
    .filter(([k]) => !config.has(k))
    .sort((a, b) => b[1].length - a[1].length);
  for (const [k, p] of dropped) if (!owned.has(k) && !kept.has(k)) removeAt(object, p);
  return { object, managedFields: writeEntries(entries) };
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The apiserver's lastAppliedManager: `kubectl apply --server-side` (manager `kubectl`) on an
 * object managed by client-side apply takes over, without conflicts, the fields recorded in its
 * last-applied-configuration annotation whose live values still match it.
 */
function migratingFromClientSideApply(
  live: Obj,
  _applied: Obj,
  manager: string,
  paths: Path[],
): boolean {
  if (manager !== 'kubectl') return false;
  const text = (live as KObject).metadata?.annotations?.[LAST_APPLIED];
  if (typeof text !== 'string' || !text) return false;
  let last: Obj;
  try {
    last = JSON.parse(text) as Obj;
  } catch {
    return false;
  }
  const allowed = fieldSetOf(last);
  return paths.every(
    (p) => allowed.has(JSON.stringify(p)) && deepEqual(valueAt(last, p), valueAt(live, p)),
  );
}

function conflictError(conflicts: { entry: Entry; path: Path }[]): StatusError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.entry)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0];
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.entry)}: ${pathString(c.path)}`;
  } else {
    const byManager = new Map<string, { entry: Entry; paths: Path[] }>();
    for (const c of conflicts) {
      const key = JSON.stringify([c.entry.manager, c.entry.operation, c.entry.subresource ?? '']);
      const m = byManager.get(key) ?? { entry: c.entry, paths: [] };
      m.paths.push(c.path);
      byManager.set(key, m);
    }
    const lines: string[] = [];
    for (const key of [...byManager.keys()].sort()) {
      const m = byManager.get(key) as { entry: Entry; paths: Path[] };
      lines.push(`conflicts with ${printManager(m.entry)}:`);
      for (const p of m.paths) lines.push(`- ${pathString(p)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}
