/**
 * REST semantics over the store, like the apiserver's registry: create/update/patch/delete with defaulting,
 * validation, generation, resourceVersion preconditions and subresources. Objects in and out are in storage form.
 */
import { applyDefaults } from './defaults.js';
import { deepEqual } from './equality.js';
import { alreadyExists, badRequest, conflict, invalid, notFound, StatusError } from './errors.js';
import { generateJobSelector } from './jobs.js';
import { applyManagedFields, updateManagedFields } from './managed-fields.js';
import {
  IMMORTAL_NAMESPACES,
  namespaceAlreadyTerminating,
  namespaceTerminating,
  namespaceUndeletable,
} from './namespaces.js';
import { newUid, randomSuffix, rfc3339 } from './names.js';
import { applyJsonPatch, applyMergePatch, applyServerSide, strategicMerge } from './patch.js';
import { apiVersionOf, RESOURCES, type ResourceDef } from './resources.js';
import { labelSelectorString } from './selectors.js';
import type { Store } from './store.js';
import type { Deployment, Namespace, Pod, ReplicaSet, Service, ServiceSpec } from './kinds.js';
import {
  isRecord,
  jsonText,
  type KObject,
  type ManagedFieldsEntry,
  type ObjectMeta,
  type Obj,
} from './types.js';
import { checkInt32Body, checkInt32Patched, validateObject } from './validation.js';

export type Subresource = 'status' | 'scale' | undefined;

export interface WriteOptions {
  dryRun?: boolean;
  subresource?: Subresource;
  /** The `fieldManager` of an apply patch (required there). */
  fieldManager?: string;
  /**
   * The manager of an API request (its `fieldManager`, else from its User-Agent): the write is
   * recorded in `managedFields`. Internal writes (controllers, kubelet) leave them as they are.
   */
  manager?: string;
  /** Server-side apply `force=true`: take over conflicting fields. */
  force?: boolean;
  /** managedFields computed by the caller (server-side apply); set as they are. */
  managedFields?: { value: ManagedFieldsEntry[] | undefined };
  /** The apply configuration of a create through server-side apply. */
  applyConfig?: Obj;
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const NAMESPACE_DEF = RESOURCES.find((r) => r.resource === 'namespaces') as ResourceDef;
export const FOREGROUND = 'foregroundDeletion';
const STATUS_RESET_ON_CREATE = new Set([
  'Deployment',
  'ReplicaSet',
  'Pod',
  'Service',
  'HorizontalPodAutoscaler',
  'Namespace',
  'Job',
]);
const HAS_GENERATION = new Set(['Deployment', 'ReplicaSet', 'HorizontalPodAutoscaler', 'Job']);

function clone<T>(v: T): T {
  return structuredClone(v);
}

function same(a: unknown, b: unknown): boolean {
  return deepEqual(a, b);
}

/** The same managers own the same fields (times aside). */
function sameOwners(a: Obj, b: Obj): boolean {
  const strip = (o: Obj): unknown =>
    ((o as KObject).metadata?.managedFields ?? []).map((e) => ({ ...e, time: undefined }));
  return deepEqual(strip(a), strip(b));
}

export class Registry {
  private nextIp = 10;

  constructor(readonly store: Store) {}

  private storageDef(def: ResourceDef): ResourceDef {
    return RESOURCES.find((r) => r.storeKey === def.storeKey && !r.toExternal) ?? def;
  }

  /** Storage form → the form of `def`'s API version. */
  external(def: ResourceDef, o: Obj): Obj {
    return def.toExternal ? def.toExternal(clone(o)) : o;
  }

  private internal(def: ResourceDef, o: Obj): Obj {
    const sdef = this.storageDef(def);
    const out = def.toInternal ? def.toInternal(clone(o)) : clone(o);
    out.apiVersion = apiVersionOf(sdef);
    out.kind = sdef.kind;
    return out;
  }

  get(def: ResourceDef, ns: string | undefined, name: string): Obj {
    const o = this.store.get(def.storeKey, def.namespaced ? ns : undefined, name);
    if (!o) throw notFound(def, name);
    return o;
  }

  tryGet(def: ResourceDef, ns: string | undefined, name: string): Obj | undefined {
    return this.store.get(def.storeKey, def.namespaced ? ns : undefined, name);
  }

  list(def: ResourceDef, ns: string | undefined): Obj[] {
    return this.store.list(def.storeKey, def.namespaced ? ns : undefined);
  }

  /** Objects for which `pred` holds (it sees stored objects read-only; only matches are cloned). */
  listWhere(def: ResourceDef, ns: string | undefined, pred: (o: Readonly<Obj>) => boolean): Obj[] {
    return this.store.listWhere(def.storeKey, def.namespaced ? ns : undefined, pred);
  }

  private checkNamespace(def: ResourceDef, ns: string | undefined, name: string): void {
    if (!def.namespaced) return;
    if (!ns) throw badRequest('the namespace of the object is required');
    const n = this.store.get('namespaces', undefined, ns);
    if (!n) throw notFound(NAMESPACE_DEF, ns);
    if ((n as KObject).metadata.deletionTimestamp) throw namespaceTerminating(def, name, ns);
  }

  create(def: ResourceDef, ns: string | undefined, body: Obj, opts: WriteOptions = {}): Obj {
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw badRequest('the body of the request must be an object');
    const kind = this.storageDef(def).kind;
    const o = this.internal(def, body) as KObject;
    checkInt32Body(kind, apiVersionOf(def), o);
    o.metadata = o.metadata && typeof o.metadata === 'object' ? o.metadata : {};
    const m = o.metadata;
    if (def.namespaced) {
      if (m.namespace && ns && m.namespace !== ns)
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      m.namespace = ns ?? m.namespace;
      this.checkNamespace(def, m.namespace, typeof m.name === 'string' ? m.name : '');
    } else delete m.namespace;
    if (!m.name && m.generateName) {
      for (let i = 0; i < 10 && (!m.name || this.store.has(def.storeKey, m.namespace, m.name)); i++)
        m.name = `${m.generateName}${randomSuffix(5)}`;
    }
    if (!m.name)
      throw invalid(def, '', [
        {
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
          field: 'metadata.name',
        },
      ]);
    if (this.store.has(def.storeKey, m.namespace, m.name)) throw alreadyExists(def, m.name);
    m.uid = newUid();
    m.creationTimestamp = rfc3339();
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.managedFields;
    if (HAS_GENERATION.has(kind)) m.generation = 1;
    else delete m.generation;
    if (STATUS_RESET_ON_CREATE.has(kind)) delete o.status; // as the apiserver strategies' PrepareForCreate
    applyDefaults(kind, o);
    if (kind === 'Job') generateJobSelector(o);
    if (kind === 'Service') this.allocateClusterIp(o);
    validateObject(this.storageDef(def), o);
    if (opts.manager) {
      const mf = opts.applyConfig
        ? applyManagedFields({}, o, opts.applyConfig, opts.manager, apiVersionOf(def), true)
            .managedFields
        : updateManagedFields(
            undefined,
            undefined,
            this.external(def, clone(o)),
            opts.manager,
            apiVersionOf(def),
          );
      if (mf) m.managedFields = mf;
    }
    if (opts.dryRun) return o;
    return this.store.put(def.storeKey, o);
  }

  private allocateClusterIp(o: Service): void {
    const s = o.spec as ServiceSpec;
    if (s.type === 'ExternalName' || s.clusterIP === 'None') {
      if (s.clusterIP === 'None') s.clusterIPs = ['None'];
      return;
    }
    if (!s.clusterIP) {
      const n = this.nextIp++;
      s.clusterIP = `10.96.${Math.floor(n / 250)}.${n % 250}`;
    }
    s.clusterIPs = [s.clusterIP];
    if (s.type === 'NodePort' || s.type === 'LoadBalancer')
      for (const p of s.ports ?? [])
        p.nodePort ??= 30000 + ((this.nextIp * 7 + (p.port ?? 0)) % 2767);
  }

  /** PUT (main resource or /status). */
  update(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    body: Obj,
    opts: WriteOptions = {},
  ): Obj {
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw badRequest('the body of the request must be an object');
    const existing = this.get(def, ns, name) as KObject;
    if (opts.subresource === 'scale') {
      checkInt32Body('Scale', 'autoscaling/v1', body);
      return this.updateScale(def, existing, body, opts);
    }
    const kind = this.storageDef(def).kind;
    const o = this.internal(def, body) as KObject;
    checkInt32Body(kind, apiVersionOf(def), o);
    o.metadata = o.metadata && typeof o.metadata === 'object' ? o.metadata : {};
    const m = o.metadata;
    if (m.name && m.name !== name)
      throw badRequest(
        `the name of the object (${String(m.name)}) does not match the name on the URL (${name})`,
      );
    if (def.namespaced && m.namespace && m.namespace !== ns)
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    if (m.resourceVersion && String(m.resourceVersion) !== existing.metadata.resourceVersion)
      throw conflict(def, name);
    if (m.uid && m.uid !== existing.metadata.uid)
      throw new StatusError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${String(m.uid)}, UID in object meta: ${String(existing.metadata.uid)}`,
        {
          name,
          group: def.group || undefined,
          kind: def.resource,
        },
      );
    let next: KObject;
    if (opts.subresource === 'status') {
      next = clone(existing);
      next.status = o.status ?? {};
      if (opts.manager && !opts.managedFields)
        next.metadata.managedFields = updateManagedFields(
          existing.metadata.managedFields,
          this.external(def, clone(existing)),
          this.external(def, clone(next)),
          opts.manager,
          apiVersionOf(def),
          'status',
        );
    } else {
      next = o;
      next.status = existing.status;
      const em: ObjectMeta = existing.metadata;
      next.metadata = {
        ...m,
        name,
        uid: em.uid,
        creationTimestamp: em.creationTimestamp,
        resourceVersion: em.resourceVersion,
      };
      if (def.namespaced) next.metadata.namespace = ns;
      const nm = next.metadata;
      const keep = <K extends keyof ObjectMeta>(k: K): void => {
        if (em[k] !== undefined) nm[k] = em[k];
        else delete nm[k];
      };
      for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const)
        keep(k);
      // As the apiserver's field manager: managedFields sent with the write (non-empty) are the
      // starting point — that is how clients rewrite them (kubectl's client-side → server-side
      // apply migration); `[{}]` clears them; otherwise (absent, []) the live ones are kept.
      const sent = m.managedFields;
      const reset =
        Array.isArray(sent) &&
        sent.length === 1 &&
        isRecord(sent[0]) &&
        !Object.keys(sent[0]).length;
      next.metadata.managedFields = reset
        ? undefined
        : Array.isArray(sent) && sent.length
          ? sent
          : existing.metadata.managedFields;
      applyDefaults(kind, next);
      if (kind === 'Service') {
        (next.spec as ServiceSpec).clusterIP ??= (existing as Service).spec?.clusterIP;
        this.allocateClusterIp(next);
      }
      const nextPod = next as Pod;
      const existingPod = existing as Pod;
      if (kind === 'Pod' && existingPod.spec?.nodeName && nextPod.spec && !nextPod.spec.nodeName)
        nextPod.spec.nodeName = existingPod.spec.nodeName;
      validateObject(this.storageDef(def), next, existing);
      if (HAS_GENERATION.has(kind) && !same(next.spec, existing.spec))
        next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
      if (opts.manager && !opts.managedFields && !reset)
        next.metadata.managedFields = updateManagedFields(
          next.metadata.managedFields,
          this.external(def, clone(existing)),
          this.external(def, clone(next)),
          opts.manager,
          apiVersionOf(def),
        );
    }
    if (opts.managedFields) next.metadata.managedFields = opts.managedFields.value;
    if (!next.metadata.managedFields) delete next.metadata.managedFields;
    // A write that changes nothing but field ownership times is a no-op, as upstream.
    if (
      same(
        { ...next, metadata: { ...next.metadata, managedFields: existing.metadata.managedFields } },
        existing,
      ) &&
      sameOwners(next, existing)
    )
      return existing;
    if (opts.dryRun) return next;
    return this.store.put(def.storeKey, next);
  }

  /** autoscaling/v1 Scale of a deployment/replicaset. */
  toScale(def: ResourceDef, obj: Obj): Obj {
    const o = obj as Deployment | ReplicaSet;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
        creationTimestamp: o.metadata.creationTimestamp,
      },
      spec: { replicas: o.spec?.replicas ?? 0 },
      status: {
        replicas: o.status?.replicas ?? 0,
        selector: labelSelectorString(o.spec?.selector),
      },
    };
  }

  private updateScale(def: ResourceDef, existing: KObject, scale: Obj, opts: WriteOptions): Obj {
    const name = existing.metadata.name ?? '';
    const rv: unknown = isRecord(scale.metadata) ? scale.metadata.resourceVersion : undefined;
    if (rv && jsonText(rv) !== existing.metadata.resourceVersion) throw conflict(def, name);
    const replicas: unknown = isRecord(scale.spec) ? scale.spec.replicas : undefined;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
      throw invalid({ group: 'autoscaling', resource: 'scale', kind: 'Scale' }, name, [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
          field: 'spec.replicas',
        },
      ]);
    const next = clone(existing) as Deployment | ReplicaSet;
    next.spec!.replicas = replicas;
    if (same(next.spec, existing.spec)) return this.toScale(def, existing);
    next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
    if (opts.manager) {
      next.metadata.managedFields = updateManagedFields(
        existing.metadata.managedFields,
        existing,
        next,
        opts.manager,
        apiVersionOf(def),
        'scale',
      );
      if (!next.metadata.managedFields) delete next.metadata.managedFields;
    }
    if (opts.dryRun) return this.toScale(def, next);
    return this.toScale(def, this.store.put(def.storeKey, next));
  }

  /** PATCH; returns the result and whether it created the object (server-side apply). */
  patch(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    contentType: string,
    patchBody: unknown,
    opts: WriteOptions = {},
  ): { object: Obj; created: boolean } {
    const existing = this.tryGet(def, ns, name) as KObject | undefined;
    if (contentType === PATCH_TYPES.apply) {
      if (!opts.fieldManager)
        throw badRequest('PATCH requests with apply-patch+yaml require fieldManager to be set');
      if (!isRecord(patchBody)) throw badRequest('invalid apply configuration: must be an object');
      if (!existing) {
        if (opts.subresource) throw notFound(def, name);
        const body = clone(patchBody);
        body.metadata = { ...(isRecord(body.metadata) ? body.metadata : {}), name };
        return {
          object: this.create(def, ns, body, {
            ...opts,
            manager: opts.fieldManager,
            applyConfig: patchBody,
          }),
          created: true,
        };
      }
    }
    if (!existing) throw notFound(def, name);
    const current =
      opts.subresource === 'scale' ? this.toScale(def, existing) : this.external(def, existing);
    let patched: Obj;
    switch (contentType) {
      case PATCH_TYPES.json:
        patched = applyJsonPatch(current, patchBody);
        break;
      case PATCH_TYPES.merge:
        patched = applyMergePatch(current, patchBody) as Obj;
        break;
      case PATCH_TYPES.strategic:
        patched = strategicMerge(current, patchBody) as Obj;
        break;
      case PATCH_TYPES.apply: {
        const merged = applyServerSide(current, patchBody as Obj);
        if (opts.subresource === 'scale') {
          patched = merged;
        } else {
          // Field ownership: conflicts (409 unless force), and fields this manager stopped applying go.
          const owned = applyManagedFields(
            current,
            merged,
            patchBody as Obj,
            opts.fieldManager as string,
            apiVersionOf(def),
            !!opts.force,
            opts.subresource,
          );
          patched = owned.object;
          opts = { ...opts, managedFields: { value: owned.managedFields } };
        }
        if (!(patchBody as KObject).metadata?.resourceVersion)
          (patched as KObject).metadata.resourceVersion = existing.metadata.resourceVersion;
        break;
      }
      default:
        throw new StatusError(
          415,
          'UnsupportedMediaType',
          `the server does not support the patch type "${contentType}"`,
          {},
        );
    }
    if (!patched || typeof patched !== 'object' || Array.isArray(patched))
      throw badRequest('patch result is not an object');
    checkInt32Patched(opts.subresource === 'scale' ? 'Scale' : this.storageDef(def).kind, patched);
    const patchedName: unknown = isRecord(patched.metadata) ? patched.metadata.name : undefined;
    if (patchedName !== undefined && patchedName !== name)
      throw badRequest(
        `the name of the object (${jsonText(patchedName)}) does not match the name on the URL (${name})`,
      );
    return { object: this.update(def, ns, name, patched, opts), created: false };
  }

  /**
   * DELETE. Pods on a node are deleted gracefully (deletionTimestamp; the kubelet removes them); everything else
   * is removed now, and the garbage collector deletes dependents (Background/Foreground) or `Orphan` strips refs.
   * Returns the object (pods, graceful) or undefined (removed).
   */
  delete(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): { object: Obj; removed: boolean } {
    const existing = this.get(def, ns, name) as KObject;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== existing.metadata.uid)
      throw new StatusError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(existing.metadata.uid)}`,
        {
          name,
          group: def.group || undefined,
          kind: def.resource,
        },
      );
    if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion)
      throw conflict(def, name);
    if (existing.kind === 'Namespace') {
      // A namespace goes Terminating; the namespace controller empties and then removes it.
      if (IMMORTAL_NAMESPACES.has(name)) throw namespaceUndeletable(name);
      if (existing.metadata.deletionTimestamp) throw namespaceAlreadyTerminating(name);
      if (opts.dryRun) return { object: existing, removed: false };
      const next = clone(existing) as Namespace;
      next.metadata.deletionTimestamp = rfc3339();
      next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      return { object: this.store.put(def.storeKey, next), removed: false };
    }
    if (opts.dryRun) return { object: existing, removed: false };
    const pod = existing as Pod;
    const grace = opts.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (
      existing.kind === 'Pod' &&
      pod.spec?.nodeName &&
      grace > 0 &&
      pod.status?.phase !== 'Failed' &&
      pod.status?.phase !== 'Succeeded'
    ) {
      if (existing.metadata.deletionTimestamp) return { object: existing, removed: false };
      const next = clone(existing);
      next.metadata.deletionTimestamp = rfc3339(Date.now() + grace * 1000);
      next.metadata.deletionGracePeriodSeconds = grace;
      return { object: this.store.put(def.storeKey, next), removed: false };
    }
    if (
      opts.propagationPolicy === 'Foreground' &&
      this.dependentsOf(existing.metadata.uid).length
    ) {
      // Foreground: the owner stays (deletionTimestamp + foregroundDeletion finalizer) until the GC has removed its dependents.
      if (existing.metadata.deletionTimestamp) return { object: existing, removed: false };
      const next = clone(existing);
      next.metadata.deletionTimestamp = rfc3339();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.finalizers = [
        ...(next.metadata.finalizers ?? []).filter((f) => f !== FOREGROUND),
        FOREGROUND,
      ];
      return { object: this.store.put(def.storeKey, next), removed: false };
    }
    if (opts.propagationPolicy === 'Orphan') this.orphanDependents(existing.metadata.uid);
    const removed = this.store.remove(def.storeKey, def.namespaced ? ns : undefined, name) as Obj;
    return { object: removed, removed: true };
  }

  /** Objects (with their resource) that list `uid` among their ownerReferences. */
  dependentsOf(uid: string | undefined): { def: ResourceDef; object: Obj }[] {
    const out: { def: ResourceDef; object: Obj }[] = [];
    for (const def of RESOURCES) {
      if (def.toExternal || def.storeKey === 'events') continue;
      for (const object of this.store.listWhere(def.storeKey, undefined, (o) =>
        ((o as KObject).metadata?.ownerReferences ?? []).some((r) => r.uid === uid),
      ))
        out.push({ def, object });
    }
    return out;
  }

  private orphanDependents(uid: string | undefined): void {
    for (const key of this.store.bucketKeys()) {
      for (const o of this.store.list(key) as KObject[]) {
        const refs = o.metadata?.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        const next = clone(o);
        next.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        if (!next.metadata.ownerReferences.length) delete next.metadata.ownerReferences;
        this.store.put(key, next);
      }
    }
  }
}
