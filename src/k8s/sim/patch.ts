/** PATCH bodies: RFC 6902 JSON Patch, RFC 7386 merge patch, and strategic merge patch (the subset kubectl sends). */
import { StatusError } from './errors.js';
import type { JsonObject, Obj } from './types.js';

function isMap(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function patchError(msg: string): StatusError {
  return new StatusError(422, 'Invalid', msg, {});
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw patchError(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Applies an RFC 6902 JSON Patch; returns a new document. */
export function applyJsonPatch(doc: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops))
    throw new StatusError(
      400,
      'BadRequest',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  let root: unknown = clone(doc);
  const getParent = (parts: string[], path: string): { parent: unknown; key: string } => {
    let cur: unknown = root;
    for (const p of parts.slice(0, -1)) {
      if (Array.isArray(cur)) cur = cur[Number(p)];
      else if (isMap(cur)) cur = cur[p];
      else cur = undefined;
      if (cur === undefined) throw patchError(`doc is missing path: "${path}": missing value`);
    }
    return { parent: cur, key: parts[parts.length - 1] };
  };
  const getValue = (path: string): unknown => {
    let cur: unknown = root;
    for (const p of parsePointer(path)) {
      if (Array.isArray(cur)) cur = cur[Number(p)];
      else if (isMap(cur)) cur = cur[p];
      else cur = undefined;
      if (cur === undefined) throw patchError(`doc is missing path: "${path}": missing value`);
    }
    return cur;
  };
  const remove = (path: string): unknown => {
    const parts = parsePointer(path);
    if (!parts.length) throw patchError('cannot remove the root');
    const { parent, key } = getParent(parts, path);
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length)
        throw patchError(`remove operation does not apply: doc is missing path: "${path}"`);
      return parent.splice(i, 1)[0];
    }
    if (!isMap(parent) || !(key in parent))
      throw patchError(`remove operation does not apply: doc is missing path: "${path}"`);
    const v = parent[key];
    delete parent[key];
    return v;
  };
  const add = (path: string, value: unknown, replace: boolean): void => {
    const parts = parsePointer(path);
    if (!parts.length) {
      root = clone(value);
      return;
    }
    const { parent, key } = getParent(parts, path);
    if (Array.isArray(parent)) {
      if (key === '-' && !replace) {
        parent.push(clone(value));
        return;
      }
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i > parent.length || (replace && i >= parent.length))
        throw patchError(`doc is missing path: "${path}": missing value`);
      if (replace) parent[i] = clone(value);
      else parent.splice(i, 0, clone(value));
      return;
    }
    if (!isMap(parent)) throw patchError(`doc is missing path: "${path}": missing value`);
    if (replace && !(key in parent))
      throw patchError(
        `replace operation does not apply: doc is missing key: ${path}: missing value`,
      );
    parent[key] = clone(value);
  };
  for (const op of ops as unknown[]) {
    if (!isMap(op) || typeof op.path !== 'string') throw patchError('invalid JSON patch operation');
    switch (op.op) {
      case 'add':
        add(op.path, op.value, false);
        break;
      case 'replace':
        add(op.path, op.value, true);
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'move': {
        const v = remove(op.from as string);
        add(op.path, v, false);
        break;
      }
      case 'copy':
        add(op.path, getValue(op.from as string), false);
        break;
      case 'test':
        if (!deepEqual(getValue(op.path), op.value))
          throw patchError(`testing value ${op.path} failed: test failed`);
        break;
      default:
        throw patchError(`Unexpected kind: ${String(op.op)}`);
    }
  }
  if (!isMap(root)) throw patchError('patch result is not an object');
  return root;
}

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  const out: Obj = isMap(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** Merge keys of the lists kubectl sends in strategic merge patches (by field name; `ports` depends on content). */
function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'hostAliases':
      return field === 'hostAliases' ? 'ip' : 'name';
    case 'ports': {
      const first = items.find(isMap);
      if (first && 'containerPort' in first) return 'containerPort';
      return 'port';
    }
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'tolerations':
    case 'topologySpreadConstraints':
      return undefined;
    default:
      return undefined;
  }
}

function sameKey(a: unknown, b: unknown, key: string): boolean {
  return (
    isMap(a) &&
    isMap(b) &&
    a[key] !== undefined &&
    JSON.stringify(a[key]) === JSON.stringify(b[key])
  );
}

function mergeList(field: string, original: unknown, patch: unknown[]): unknown[] {
  const orig: unknown[] = Array.isArray(original) ? clone(original) : [];
  const key = mergeKeyFor(field, [...patch, ...orig]);
  if (patch.some((p) => isMap(p) && p.$patch === 'replace'))
    return patch
      .filter((p) => !(isMap(p) && p.$patch === 'replace'))
      .map((p) => stripDirectives(p));
  if (!key) return patch.map((p) => stripDirectives(p));
  const out = orig;
  for (const item of patch) {
    if (!isMap(item)) {
      out.push(clone(item));
      continue;
    }
    const idx = out.findIndex((o) => sameKey(o, item, key));
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isMap(v)) return clone(v);
  const out: Obj = {};
  for (const [k, val] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (val === null) continue;
    out[k] = stripDirectives(val);
  }
  return out;
}

function orderBy(list: unknown[], order: unknown[], field: string): unknown[] {
  const key = mergeKeyFor(field, [...order, ...list]);
  const pos = (item: unknown): number => {
    const i = order.findIndex((o) =>
      key ? sameKey(o, item, key) : JSON.stringify(o) === JSON.stringify(item),
    );
    return i < 0 ? order.length : i;
  };
  return list
    .map((item, i) => ({ item, i }))
    .sort((a, b) => pos(a.item) - pos(b.item) || a.i - b.i)
    .map((x) => x.item);
}

/**
 * Strategic merge patch: recursive map merge, `null` deletes, lists merged by key for the known fields,
 * `$patch: replace|delete`, `$retainKeys`, `$setElementOrder/<f>`, `$deleteFromPrimitiveList/<f>`.
 */
export function strategicMerge(original: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const out: Obj = isMap(original) ? clone(original) : {};
  const orders: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      if (Array.isArray(v)) orders.push([k.slice('$setElementOrder/'.length), v]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f]) && Array.isArray(v))
        out[f] = (out[f] as unknown[]).filter((x) => !v.includes(x));
      continue;
    }
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      out[k] = mergeList(k, out[k], v);
    } else if (isMap(v)) {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [f, order] of orders)
    if (Array.isArray(out[f])) out[f] = orderBy(out[f] as unknown[], order, f);
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  return out;
}

/**
 * Server-side apply, approximated: the applied configuration is strategically merged into the live object
 * (no field-ownership tracking, so fields dropped from a later apply are not removed).
 */
export function applyServerSide(live: Obj, applied: Obj): Obj {
  return strategicMerge(live, applied) as Obj;
}
