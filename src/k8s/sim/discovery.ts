/** Discovery documents (/api, /apis, per group-version resource lists, /version) and minimal /openapi/v3. */
import { apiVersionOf, GROUP_VERSIONS, RESOURCES, type ResourceDef } from './resources.js';
import { modelOf, modelSchema } from './schemas.js';
import type { Obj } from './types.js';

export function apiVersions(hostPort: string): Obj {
  return {
    kind: 'APIVersions',
    apiVersion: 'v1',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: hostPort }],
  };
}

export function apiGroupList(): Obj {
  const groups = new Map<string, { groupVersion: string; version: string }[]>();
  for (const gv of GROUP_VERSIONS) {
    const list = groups.get(gv.group) ?? [];
    list.push({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version });
    groups.set(gv.group, list);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups.entries()].map(([name, versions]) => ({
      name,
      versions,
      preferredVersion: versions[0],
    })),
  };
}

export function apiGroup(group: string): Obj | undefined {
  const g = (apiGroupList().groups as Obj[]).find((x) => x.name === group);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...g } : undefined;
}

function entry(r: ResourceDef): Obj {
  const e: Obj = {
    name: r.resource,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
  };
  if (r.shortNames.length) e.shortNames = r.shortNames;
  if (r.categories.length) e.categories = r.categories;
  e.storageVersionHash = Buffer.from(`${r.group}/${r.version}/${r.kind}`)
    .toString('base64')
    .slice(0, 11);
  return e;
}

/** APIResourceList of a group version, or undefined when not served. */
export function apiResourceList(group: string, version: string): Obj | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (!rs.length) return undefined;
  const resources: Obj[] = [];
  for (const r of rs) {
    resources.push(entry(r));
    for (const sub of r.subresources) {
      if (sub === 'scale')
        resources.push({
          name: `${r.resource}/scale`,
          singularName: '',
          namespaced: r.namespaced,
          group: 'autoscaling',
          version: 'v1',
          kind: 'Scale',
          verbs: ['get', 'patch', 'update'],
        });
      else if (sub === 'log')
        resources.push({
          name: `${r.resource}/log`,
          singularName: '',
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['get'],
        });
      else
        resources.push({
          name: `${r.resource}/${sub}`,
          singularName: '',
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['get', 'patch', 'update'],
        });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources,
  };
}

export function versionInfo(): Obj {
  return {
    major: '1',
    minor: '33',
    gitVersion: 'v1.33.0',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-04-23T00:00:00Z',
    goVersion: 'go1.24.2',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** `/openapi/v3`: the index of group-version documents. */
export function openApiV3Index(): Obj {
  const paths: Obj = {};
  for (const gv of [{ group: '', version: 'v1' }, ...GROUP_VERSIONS]) {
    const p = gvPath(gv.group, gv.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=2` }; // hash 2: the documents carry schemas
  }
  return { paths };
}

/**
 * `/openapi/v3/apis/apps/v1` etc.: a PATCH operation per kind with `x-kubernetes-group-version-kind` and a
 * `fieldValidation` parameter (kubectl's server-side validation check), and the kinds' schemas (for
 * `kubectl explain`) built from client-node's models (schemas.ts): names and types of every field,
 * no descriptions, no required lists, no strategic-merge extensions.
 */
export function openApiV3Doc(path: string): Obj | undefined {
  const rs = RESOURCES.filter((r) => gvPath(r.group, r.version) === path);
  if (!rs.length) return undefined;
  const paths: Obj = {};
  for (const r of rs) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const base = r.namespaced
      ? `/${path}/namespaces/{namespace}/${r.resource}`
      : `/${path}/${r.resource}`;
    const params = [
      { name: 'dryRun', in: 'query', schema: { type: 'string' } },
      { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
      { name: 'fieldValidation', in: 'query', schema: { type: 'string' } },
    ];
    paths[`${base}/{name}`] = {
      get: { 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
      put: {
        'x-kubernetes-action': 'put',
        'x-kubernetes-group-version-kind': gvk,
        parameters: params,
      },
      patch: {
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: params,
      },
    };
    paths[base] = {
      post: {
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': gvk,
        parameters: params,
      },
    };
  }
  const schemas: Record<string, Obj> = {};
  for (const r of rs) {
    const model = modelOf(r);
    if (model) modelSchema(model, schemas, { group: r.group, version: r.version, kind: r.kind });
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.33.0' },
    paths,
    components: { schemas },
  };
}
