/**
 * The served kinds' fields, from a maintained source instead of a hand-kept list: the models of
 * `@kubernetes/client-node` (generated from the Kubernetes OpenAPI), whose `attributeTypeMap`
 * names every field's JSON name and type. Used for `fieldValidation` (unknown fields) and for
 * the `/openapi/v3` schemas.
 */
import * as models from '@kubernetes/client-node';
import type { ResourceDef } from './resources.js';
import type { Obj } from './types.js';

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

/** An OpenAPI schema object, as far as the simulator builds and reads them. */
export interface SchemaObject {
  type?: string;
  format?: string;
  description?: string;
  $ref?: string;
  required?: string[];
  items?: SchemaObject;
  additionalProperties?: boolean | SchemaObject;
  properties?: Record<string, SchemaObject>;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  [field: string]: unknown;
}

type ModelClass = { attributeTypeMap?: Attribute[]; getAttributeTypeMap?: () => Attribute[] };

const MODELS = models as unknown as Record<string, ModelClass | undefined>;

/** The attributes of model `name`, or undefined when it is not a generated model (e.g. a scalar alias). */
export function attributesOf(name: string): Attribute[] | undefined {
  const m = MODELS[name];
  return m?.attributeTypeMap ?? m?.getAttributeTypeMap?.();
}

/** The client-node model of a served resource (`V1Deployment`, `V2HorizontalPodAutoscaler`, `CoreV1Event`, …). */
export function modelOf(def: Pick<ResourceDef, 'group' | 'version' | 'kind'>): string | undefined {
  const v = def.version.charAt(0).toUpperCase() + def.version.slice(1);
  const candidates =
    def.kind === 'Event'
      ? [def.group === 'events.k8s.io' ? 'EventsV1Event' : 'CoreV1Event']
      : [`${v}${def.kind}`];
  return candidates.find((c) => attributesOf(c));
}

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/**
 * Paths of the fields of `value` that model `type` does not declare, in the apiserver's form
 * (`spec.template.spec.containers[0].bogus`). Keys starting with `$` (strategic-merge-patch
 * directives) are skipped when `patch` is set.
 */
export function unknownFields(type: string, value: unknown, path = '', patch = false): string[] {
  if (value === null || value === undefined) return [];
  const arr = ARRAY.exec(type);
  if (arr) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((v, i) => unknownFields(arr[1], v, `${path}[${i}]`, patch));
  }
  const map = MAP.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return [];
    return Object.entries(value as Obj).flatMap(([k, v]) =>
      unknownFields(map[1], v, path ? `${path}.${k}` : k, patch),
    );
  }
  const attrs = attributesOf(type);
  if (!attrs || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Obj)) {
    if (patch && k.startsWith('$')) continue;
    const sub = path ? `${path}.${k}` : k;
    const a = attrs.find((x) => x.baseName === k);
    if (!a) out.push(sub);
    else out.push(...unknownFields(a.type, v, sub, patch));
  }
  return out;
}

/** Removes the fields at `paths` (from {@link unknownFields}) from `value`, as Go's decoder drops them. */
export function pruneFields(value: Obj, paths: string[]): void {
  for (const p of paths) {
    const steps = [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
      m[2] !== undefined ? Number(m[2]) : m[1],
    );
    type Node = Record<string | number, unknown>;
    let cur: unknown = value;
    for (let i = 0; i < steps.length - 1 && cur; i++) cur = (cur as Node)[steps[i]];
    if (cur && typeof cur === 'object') delete (cur as Node)[steps[steps.length - 1]];
  }
}

/** A schema name for model `m` whose last segment is the kind's own name (kubectl explain prints it): `io.k8s.v1.ObjectMeta`. */
export function schemaName(m: string): string {
  const x = /^(Core|Events|Authentication|Authorization)?(V\d+(?:alpha\d+|beta\d+)?)(.+)$/.exec(m);
  return x ? `io.k8s.${(x[1] ?? '').toLowerCase()}${x[2].toLowerCase()}.${x[3]}` : `io.k8s.${m}`;
}

/**
 * Where the OpenAPI v2 (Swagger) and v3 documents differ in how they spell a schema; the walk
 * over client-node's models ({@link modelSchemaIn}) is the same for both.
 */
export interface SchemaDialect {
  /** A reference to model `name`. */
  ref(name: string): SchemaObject;
  intOrString: SchemaObject;
  /** `object` and `any` attribute types. */
  object: SchemaObject;
  any: SchemaObject;
  /** A type that names no known model. */
  unknown: SchemaObject;
  description(m: string): string;
}

/** OpenAPI v3 (`/openapi/v3`), as the apiserver writes it. */
export const V3_DIALECT: SchemaDialect = {
  // As the apiserver's v3 documents: a reference wrapped in allOf, with a default.
  ref: (name) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }], default: {} }),
  intOrString: { 'x-kubernetes-int-or-string': true },
  object: { type: 'object' },
  any: { type: 'object' },
  unknown: { type: 'object' },
  description: (m) =>
    `${m.replace(/^(Core|Events)?V\d+\w*?(?=[A-Z])/, '')} (fields from @kubernetes/client-node's ${m} model).`,
};

/** The schema of an attribute type in `dialect`; models it refers to are added to `defs`. */
function typeSchema(
  type: string,
  format: string,
  defs: Record<string, SchemaObject>,
  dialect: SchemaDialect,
): SchemaObject {
  const arr = ARRAY.exec(type);
  if (arr) return { type: 'array', items: typeSchema(arr[1], '', defs, dialect) };
  const map = MAP.exec(type);
  if (map)
    return {
      type: 'object',
      additionalProperties: typeSchema(map[1], '', defs, dialect),
    };
  switch (type) {
    case 'string':
      return format ? { type: 'string', format } : { type: 'string' };
    case 'number':
      return format === 'int32' || format === 'int64'
        ? { type: 'integer', format }
        : { type: 'number', format: format || 'double' };
    case 'boolean':
      return { type: 'boolean' };
    case 'Date':
    case 'V1MicroTime':
      return { type: 'string', format: 'date-time' };
    case 'IntOrString':
      return { ...dialect.intOrString };
    case 'any':
      return { ...dialect.any };
    case 'object':
      return { ...dialect.object };
    default:
      if (!attributesOf(type)) return { ...dialect.unknown };
      modelSchemaIn(dialect, type, defs);
      return dialect.ref(schemaName(type));
  }
}

/**
 * Adds model `m` (and every model it refers to) to `defs` in `dialect`, keyed by
 * {@link schemaName}; a model served as several kinds/versions lists each of its `gvk`s.
 */
export function modelSchemaIn(
  dialect: SchemaDialect,
  m: string,
  defs: Record<string, SchemaObject>,
  gvk?: { group: string; version: string; kind: string },
): void {
  const existing = defs[schemaName(m)];
  if (existing) {
    if (gvk) (existing['x-kubernetes-group-version-kind'] ??= []).push(gvk);
    return;
  }
  const properties: Record<string, SchemaObject> = {};
  const s: SchemaObject = { type: 'object', description: dialect.description(m), properties };
  defs[schemaName(m)] = s;
  for (const a of attributesOf(m) ?? [])
    properties[a.baseName] = typeSchema(a.type, a.format, defs, dialect);
  if (gvk) s['x-kubernetes-group-version-kind'] = [gvk];
}

/** Adds model `m` to `defs` as an OpenAPI v3 schema (see {@link modelSchemaIn}). */
export function modelSchema(
  m: string,
  defs: Record<string, SchemaObject>,
  gvk?: { group: string; version: string; kind: string },
): void {
  modelSchemaIn(V3_DIALECT, m, defs, gvk);
}
