/** Label selectors (`=,==,!=,in,notin,key,!key` and LabelSelector objects) and per-resource field selectors. */
import { badRequest } from './errors.js';
import type { CoreEvent, Job, Namespace, Node, Pod, ReplicaSet } from './kinds.js';
import type { KObject, LabelSelector, Obj } from './types.js';

export type LabelMatcher = (labels: Record<string, string>) => boolean;
export type ObjMatcher = (o: Obj) => boolean;

interface Requirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';
  values: string[];
}

function matchReq(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case 'eq':
      return has && v === r.values[0];
    case 'neq':
      return !has || v !== r.values[0];
    case 'in':
      return has && r.values.includes(v);
    case 'notin':
      return !has || !r.values.includes(v);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const KEY_RE =
  /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

function parseRequirement(raw: string): Requirement {
  const s = raw.trim();
  let m: RegExpMatchArray | null;
  const check = (key: string, values: string[]): void => {
    if (!KEY_RE.test(key))
      throw badRequest(`unable to parse requirement: invalid label key "${key}"`);
    for (const v of values)
      if (!VALUE_RE.test(v))
        throw badRequest(`unable to parse requirement: invalid label value: "${v}"`);
  };
  if ((m = s.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
    const values = m[3]
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    check(m[1], values);
    return { key: m[1], op: m[2] === 'in' ? 'in' : 'notin', values };
  }
  if ((m = s.match(/^([^=!\s]+)\s*(==|!=|=)\s*([^=!\s]*)$/))) {
    check(m[1], [m[3]]);
    return { key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]] };
  }
  if ((m = s.match(/^!\s*(\S+)$/))) {
    check(m[1], []);
    return { key: m[1], op: 'notexists', values: [] };
  }
  if (s && !/[\s=!()]/.test(s)) {
    check(s, []);
    return { key: s, op: 'exists', values: [] };
  }
  throw badRequest(`unable to parse requirement: found '${s}', expected: identifier`);
}

/** Parses a `labelSelector` query string; 400 on syntax errors. */
export function parseLabelSelector(sel: string | null | undefined): LabelMatcher {
  if (!sel || !sel.trim()) return () => true;
  const reqs = splitTop(sel).map(parseRequirement);
  return (labels) => reqs.every((r) => matchReq(r, labels ?? {}));
}

/** A metav1.LabelSelector object → matcher. An empty selector matches everything (as in labels.SelectorFromSet). */
export function labelSelectorMatcher(sel: LabelSelector | undefined | null): LabelMatcher {
  if (!sel) return () => false;
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {}))
    reqs.push({ key: k, op: 'eq', values: [String(v)] });
  for (const e of sel.matchExpressions ?? []) {
    const op =
      e.operator === 'In'
        ? 'in'
        : e.operator === 'NotIn'
          ? 'notin'
          : e.operator === 'Exists'
            ? 'exists'
            : e.operator === 'DoesNotExist'
              ? 'notexists'
              : undefined;
    if (!op) throw badRequest(`"${e.operator}" is not a valid label selector operator`);
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return (labels) => reqs.every((r) => matchReq(r, labels ?? {}));
}

/** metav1.LabelSelector → string as printed by kubectl (`app=x,tier in (a,b)`). */
export function labelSelectorString(sel: LabelSelector | undefined | null): string {
  if (!sel) return '';
  const parts: [string, string][] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push([k, `${k}=${String(v)}`]);
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    const txt =
      e.operator === 'In'
        ? `${e.key} in (${vals})`
        : e.operator === 'NotIn'
          ? `${e.key} notin (${vals})`
          : e.operator === 'Exists'
            ? e.key
            : `!${e.key}`;
    parts.push([e.key, txt]);
  }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((p) => p[1])
    .join(',');
}

type FieldGetter = (o: KObject) => string | undefined;

/** Getters of a kind's fields, reading the object as that kind. */
function fieldsOf<T extends KObject>(
  getters: Record<string, (o: T) => string | undefined>,
): Record<string, FieldGetter> {
  return Object.fromEntries(
    Object.entries(getters).map(([field, get]) => [field, (o: KObject) => get(o as T)]),
  );
}

const META_FIELDS: Record<string, FieldGetter> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace,
};

const FIELDS_BY_KIND: Record<string, Record<string, FieldGetter>> = {
  Pod: fieldsOf<Pod>({
    'spec.nodeName': (o) => o.spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => o.spec?.restartPolicy,
    'spec.schedulerName': (o) => o.spec?.schedulerName,
    'spec.serviceAccountName': (o) => o.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (o) => String(!!o.spec?.hostNetwork),
    'status.phase': (o) => o.status?.phase,
    'status.podIP': (o) => o.status?.podIP ?? '',
    'status.nominatedNodeName': (o) => o.status?.nominatedNodeName ?? '',
  }),
  Event: fieldsOf<CoreEvent>({
    'involvedObject.kind': (o) => o.involvedObject?.kind ?? '',
    'involvedObject.namespace': (o) => o.involvedObject?.namespace ?? '',
    'involvedObject.name': (o) => o.involvedObject?.name ?? '',
    'involvedObject.uid': (o) => o.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (o) => o.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (o) => o.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (o) => o.involvedObject?.fieldPath ?? '',
    reason: (o) => o.reason ?? '',
    reportingComponent: (o) => o.reportingComponent ?? '',
    source: (o) => o.source?.component ?? '',
    type: (o) => o.type ?? '',
  }),
  EventV1: fieldsOf<CoreEvent>({
    'regarding.kind': (o) => o.involvedObject?.kind ?? '',
    'regarding.namespace': (o) => o.involvedObject?.namespace ?? '',
    'regarding.name': (o) => o.involvedObject?.name ?? '',
    'regarding.uid': (o) => o.involvedObject?.uid ?? '',
    'regarding.apiVersion': (o) => o.involvedObject?.apiVersion ?? '',
    'regarding.resourceVersion': (o) => o.involvedObject?.resourceVersion ?? '',
    'regarding.fieldPath': (o) => o.involvedObject?.fieldPath ?? '',
    reason: (o) => o.reason ?? '',
    reportingController: (o) => o.reportingComponent ?? '',
    type: (o) => o.type ?? '',
  }),
  Namespace: fieldsOf<Namespace>({ 'status.phase': (o) => o.status?.phase }),
  Node: fieldsOf<Node>({ 'spec.unschedulable': (o) => String(!!o.spec?.unschedulable) }),
  ReplicaSet: fieldsOf<ReplicaSet>({ 'status.replicas': (o) => String(o.status?.replicas ?? 0) }),
  Job: fieldsOf<Job>({ 'status.successful': (o) => String(o.status?.succeeded ?? 0) }),
  Service: {},
};

/**
 * Parses a `fieldSelector` for a kind (storage form objects); 400 `field label not supported` on unknown fields.
 * `kindKey` is the kind, or `EventV1` for events.k8s.io.
 */
export function parseFieldSelector(sel: string | null | undefined, kindKey: string): ObjMatcher {
  if (!sel || !sel.trim()) return () => true;
  const fields = { ...META_FIELDS, ...(FIELDS_BY_KIND[kindKey] ?? {}) };
  const tests: ObjMatcher[] = [];
  for (const raw of sel.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const m = part.match(/^([^=!]+)(==|!=|=)(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`);
    const field = m[1].trim();
    const getter = fields[field];
    if (!getter) throw badRequest(`field label not supported: ${field}`);
    const value = m[3].trim();
    const neg = m[2] === '!=';
    tests.push((o) => (getter(o as KObject) === value) !== neg);
  }
  return (o) => tests.every((t) => t(o));
}
