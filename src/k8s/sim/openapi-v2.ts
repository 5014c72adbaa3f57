/**
 * `/openapi/v2`: the Swagger 2.0 document of the served kinds, as JSON or — what kubectl asks
 * for — the gnostic protobuf `openapi.v2.Document` (Accept
 * `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`). kubectl validates the items of
 * a `kind: List` file with it (`kubectl apply -f` of `kubectl get … -o yaml` output). The
 * schemas come from the same source as the v3 documents: client-node's models (schemas.ts).
 * Field numbers: google/gnostic openapiv2/OpenAPIv2.proto.
 */
import { RESOURCES } from './resources.js';
import { modelOf, modelSchemaIn, type SchemaDialect, type SchemaObject } from './schemas.js';
import type { Obj } from './types.js';

/** The Content-Type the apiserver (kube-openapi) answers with: `.v1.0`, since `@` is not valid in a media type. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Swagger 2.0's spelling of the schemas walked in schemas.ts. */
const V2_DIALECT: SchemaDialect = {
  ref: (name) => ({ $ref: `#/definitions/${name}` }),
  intOrString: { type: 'string', format: 'int-or-string' },
  object: { type: 'object' },
  any: {},
  unknown: {},
  description: (m) => `${m} (fields from @kubernetes/client-node's ${m} model).`,
};

/** The Swagger 2.0 document. */
interface SwaggerDoc {
  swagger: string;
  info: { title: string; version: string };
  paths: Record<string, never>;
  definitions: Record<string, SchemaObject>;
}

let cached: SwaggerDoc | undefined;

/** The Swagger 2.0 document (JSON form). */
export function openApiV2Doc(): SwaggerDoc {
  if (cached) return cached;
  const definitions: Record<string, SchemaObject> = {};
  for (const r of RESOURCES) {
    const model = modelOf(r);
    if (model)
      modelSchemaIn(V2_DIALECT, model, definitions, {
        group: r.group,
        version: r.version,
        kind: r.kind,
      });
  }
  cached = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.33.0' },
    paths: {},
    definitions,
  };
  return cached;
}

// --- protobuf encoding (proto3 wire format) ---

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function tag(field: number, wire: number): Buffer {
  return varint(field * 8 + wire);
}

function bytesField(field: number, b: Buffer): Buffer {
  return Buffer.concat([tag(field, 2), varint(b.length), b]);
}

function strField(field: number, s: string | undefined): Buffer {
  return s ? bytesField(field, Buffer.from(s, 'utf8')) : Buffer.alloc(0);
}

/** A vendor extension (`NamedAny`: name, Any{yaml}). The YAML is what kube-openapi parses back. */
function namedAny(name: string, value: unknown): Buffer {
  const any = strField(2, toYaml(value));
  return Buffer.concat([strField(1, name), bytesField(2, any)]);
}

/** Minimal YAML for extension values (lists of maps of strings, scalars). */
function toYaml(v: unknown): string {
  if (Array.isArray(v))
    return (
      v
        .map((item) => {
          if (item && typeof item === 'object')
            return Object.entries(item as Obj)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, x], i) => `${i === 0 ? '- ' : '  '}${k}: ${JSON.stringify(String(x))}`)
              .join('\n');
          return `- ${JSON.stringify(item)}`;
        })
        .join('\n') + '\n'
    );
  return `${JSON.stringify(v)}\n`;
}

function encodeSchema(s: SchemaObject): Buffer {
  const parts: Buffer[] = [];
  if (s.$ref) parts.push(strField(1, s.$ref));
  if (s.format) parts.push(strField(2, s.format));
  if (s.description) parts.push(strField(4, s.description));
  for (const r of s.required ?? []) parts.push(strField(19, r));
  if (s.additionalProperties && typeof s.additionalProperties === 'object')
    parts.push(bytesField(21, bytesField(1, encodeSchema(s.additionalProperties))));
  if (s.type) parts.push(bytesField(22, strField(1, s.type)));
  if (s.items) parts.push(bytesField(23, bytesField(1, encodeSchema(s.items))));
  if (s.properties) {
    const props = Object.entries(s.properties).map(([n, sub]) =>
      bytesField(1, Buffer.concat([strField(1, n), bytesField(2, encodeSchema(sub))])),
    );
    parts.push(bytesField(25, Buffer.concat(props)));
  }
  for (const [k, v] of Object.entries(s))
    if (k.startsWith('x-')) parts.push(bytesField(31, namedAny(k, v)));
  return Buffer.concat(parts);
}

let cachedPb: Buffer | undefined;

/** The document as gnostic `openapi.v2.Document` protobuf. */
export function openApiV2Protobuf(): Buffer {
  if (cachedPb) return cachedPb;
  const doc = openApiV2Doc();
  const info = Buffer.concat([strField(1, doc.info.title), strField(2, doc.info.version)]);
  const defs = Object.entries(doc.definitions).map(([n, s]) =>
    bytesField(1, Buffer.concat([strField(1, n), bytesField(2, encodeSchema(s))])),
  );
  cachedPb = Buffer.concat([
    strField(1, doc.swagger),
    bytesField(2, info),
    bytesField(8, Buffer.alloc(0)),
    bytesField(9, Buffer.concat(defs)),
  ]);
  return cachedPb;
}
