/** Kubernetes `Status` errors, shaped exactly like the apiserver's. */
import type { Obj } from './types.js';

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Obj {
    const s: Obj = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

export interface ResourceRef {
  group: string;
  resource: string;
  kind: string;
}

/** `deployments.apps` or `pods`. */
export function qualifiedResource(r: ResourceRef): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function details(r: ResourceRef, name: string, kindField?: string): Obj {
  const d: Obj = { name };
  if (r.group) d.group = r.group;
  d.kind = kindField ?? r.resource;
  return d;
}

export function notFound(r: ResourceRef, name: string): StatusError {
  return new StatusError(
    404,
    'NotFound',
    `${qualifiedResource(r)} "${name}" not found`,
    details(r, name),
  );
}

export function pathNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(r: ResourceRef, name: string): StatusError {
  return new StatusError(
    409,
    'AlreadyExists',
    `${qualifiedResource(r)} "${name}" already exists`,
    details(r, name),
  );
}

export function conflict(r: ResourceRef, name: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    details(r, name),
  );
}

export interface Cause {
  reason: string;
  message: string;
  field: string;
}

/** 422 Invalid: `Deployment.apps "x" is invalid: spec.selector: Required value`. */
export function invalid(r: ResourceRef, name: string, causes: Cause[]): StatusError {
  const kindQ = r.group ? `${r.kind}.${r.group}` : r.kind;
  const msgs = causes.map((c) => `${c.field}: ${c.message}`);
  const msg =
    msgs.length === 1
      ? `${kindQ} "${name}" is invalid: ${msgs[0]}`
      : `${kindQ} "${name}" is invalid: [${msgs.join(', ')}]`;
  return new StatusError(422, 'Invalid', msg, { ...details(r, name, r.kind), causes });
}

export function required(field: string): Cause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function methodNotAllowed(): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got "${contentType}")`,
    {},
  );
}

export function internalError(err: unknown): StatusError {
  return new StatusError(
    500,
    'InternalError',
    `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`,
    {},
  );
}

/**
 * 504 Timeout for a resourceVersion the server has not reached, shaped like the apiserver's
 * `storage.NewTooLargeResourceVersionError`: clients (client-go's reflector, our informer
 * cache) take the `ResourceVersionTooLarge` cause as "relist", e.g. after a server restart.
 */
export function tooLargeResourceVersion(requested: number, current: number): StatusError {
  return new StatusError(
    504,
    'Timeout',
    `Timeout: Too large resource version: ${requested}, current: ${current}`,
    {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
  );
}
