/** Pure helpers: patches, selectors, durations, names (no server). */
import { describe, expect, it } from 'vitest';
import { GarbageCollector } from './garbage-collector.js';
import { computeTemplateHash, fnv32a, safeEncodeString } from './names.js';
import { Registry } from './registry.js';
import { findResource, type ResourceDef } from './resources.js';
import { Store } from './store.js';
import { applyJsonPatch, applyMergePatch, strategicMerge } from './patch.js';
import {
  labelSelectorMatcher,
  labelSelectorString,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import { humanDuration } from './tables.js';

describe('patch', () => {
  it('JSON patch: add/remove/replace/move/copy/test, escaping and errors', () => {
    const doc = { a: { 'b/c': 1, '~d': 2 }, list: [1, 2, 3] };
    const out = applyJsonPatch(doc, [
      { op: 'replace', path: '/a/b~1c', value: 10 },
      { op: 'remove', path: '/a/~0d' },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'add', path: '/list/0', value: 0 },
      { op: 'move', from: '/list/1', path: '/moved' },
      { op: 'copy', from: '/moved', path: '/copied' },
      { op: 'test', path: '/copied', value: 1 },
    ]);
    expect(out).toEqual({ a: { 'b/c': 10 }, list: [0, 2, 3, 4], moved: 1, copied: 1 });
    expect(doc.list).toEqual([1, 2, 3]);
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }])).toThrow(
      /missing/,
    );
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }])).toThrow(
      /test failed/,
    );
    expect(() => applyJsonPatch(doc, { op: 'add' })).toThrow();
  });

  it('merge patch: null deletes, arrays replace', () => {
    expect(
      applyMergePatch(
        { a: 1, b: { c: 2, d: 3 }, l: [1, 2] },
        { a: null, b: { c: null, e: 4 }, l: [3] },
      ),
    ).toEqual({ b: { d: 3, e: 4 }, l: [3] });
  });

  it('strategic merge: lists by merge key, $patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList', () => {
    const live = {
      spec: {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
        finalizers: ['a', 'b'],
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                image: 'v1',
                env: [{ name: 'A', value: '1' }],
                ports: [{ containerPort: 80, protocol: 'TCP' }],
              },
              { name: 'side', image: 's1' },
            ],
            tolerations: [{ key: 'x' }],
          },
        },
      },
    };
    const out = strategicMerge(live, {
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null },
        '$deleteFromPrimitiveList/finalizers': ['a'],
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
            containers: [
              {
                name: 'app',
                image: 'v2',
                env: [{ name: 'B', value: '2' }],
                ports: [{ containerPort: 80, name: 'http' }],
              },
              { name: 'side', $patch: 'delete' },
              { name: 'new', image: 'n' },
            ],
            tolerations: [{ key: 'y' }],
          },
        },
      },
    }) as Record<string, any>;
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
    expect(out.spec.finalizers).toEqual(['b']);
    const cs = out.spec.template.spec.containers;
    expect(cs.map((c: { name: string }) => c.name)).toEqual(['app', 'new']);
    expect(cs[0]).toEqual({
      name: 'app',
      image: 'v2',
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }],
    });
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'y' }]);
    expect(strategicMerge({ a: { b: 1 } }, { a: { $patch: 'replace', c: 2 } })).toEqual({
      a: { c: 2 },
    });
  });
});

describe('selectors', () => {
  it('label selector syntax', () => {
    const m = parseLabelSelector('app=web,tier in (a, b),env!=prod,!legacy,track,x notin (1)');
    expect(m({ app: 'web', tier: 'b', env: 'dev', track: 'y' })).toBe(true);
    expect(m({ app: 'web', tier: 'c', env: 'dev', track: 'y' })).toBe(false);
    expect(m({ app: 'web', tier: 'a', env: 'dev', track: 'y', legacy: '1' })).toBe(false);
    expect(m({ app: 'web', tier: 'a', env: 'dev' })).toBe(false);
    expect(m({ app: 'web', tier: 'a', track: '', x: '1' })).toBe(false);
    expect(parseLabelSelector('app==web')({ app: 'web' })).toBe(true);
    expect(parseLabelSelector('')({})).toBe(true);
    expect(() => parseLabelSelector('a in (')).toThrow();
    expect(() => parseLabelSelector('=x')).toThrow();
  });

  it('LabelSelector objects and their string form', () => {
    const sel = {
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'c', operator: 'In', values: ['y', 'x'] },
        { key: 'd', operator: 'DoesNotExist' },
      ],
    };
    expect(labelSelectorString(sel)).toBe('a=1,b=2,c in (x,y),!d');
    expect(labelSelectorMatcher(sel)({ a: '1', b: '2', c: 'x' })).toBe(true);
    expect(labelSelectorMatcher(sel)({ a: '1', b: '2', c: 'x', d: '' })).toBe(false);
  });

  it('field selectors per kind; unknown fields are a 400', () => {
    const pod = {
      metadata: { name: 'p', namespace: 'ns' },
      spec: { nodeName: 'n1' },
      status: { phase: 'Running' },
    };
    expect(
      parseFieldSelector('metadata.name=p,status.phase!=Pending,spec.nodeName==n1', 'Pod')(pod),
    ).toBe(true);
    expect(parseFieldSelector('status.phase=Pending', 'Pod')(pod)).toBe(false);
    expect(() => parseFieldSelector('spec.foo=1', 'Pod')).toThrow(
      /field label not supported: spec.foo/,
    );
    expect(() => parseFieldSelector('status.phase=x', 'Deployment')).toThrow(/not supported/);
    const ev = {
      metadata: { name: 'e' },
      involvedObject: { kind: 'Deployment', name: 'd', uid: 'u' },
      reason: 'R',
      type: 'Normal',
    };
    expect(
      parseFieldSelector(
        'involvedObject.kind=Deployment,involvedObject.uid=u,reason=R,type=Normal',
        'Event',
      )(ev),
    ).toBe(true);
    expect(parseFieldSelector('regarding.name=d', 'EventV1')(ev)).toBe(true);
  });
});

describe('names and durations', () => {
  it('HumanDuration like apimachinery', () => {
    const s = 1000;
    expect(humanDuration(45 * s)).toBe('45s');
    expect(humanDuration(119 * s)).toBe('119s');
    expect(humanDuration(200 * s)).toBe('3m20s');
    expect(humanDuration(15 * 60 * s)).toBe('15m');
    expect(humanDuration((5 * 3600 + 2 * 60) * s)).toBe('5h2m');
    expect(humanDuration(20 * 3600 * s)).toBe('20h');
    expect(humanDuration(3 * 86400 * s)).toBe('3d');
    expect(humanDuration((3 * 86400 + 5 * 3600) * s)).toBe('3d5h');
    expect(humanDuration(-5 * s)).toBe('<invalid>');
  });

  it('pod-template-hash: FNV-32a decimal, safe-encoded', () => {
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
    const t = {
      metadata: { labels: { app: 'x' } },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    };
    const h = computeTemplateHash(t);
    expect(h).toMatch(/^[456789bcdf]{1,10}$/);
    expect(computeTemplateHash(structuredClone(t))).toBe(h);
    expect(computeTemplateHash(t, 1)).not.toBe(h);
  });
});

describe('store and garbage collector', () => {
  it('expires old events and collects objects whose owners are gone', () => {
    const store = new Store({ historyWindowMs: 60_000, historyMaxEvents: 3 });
    const reg = new Registry(store);
    const ns = findResource('', 'v1', 'namespaces') as ResourceDef;
    const ev = findResource('', 'v1', 'events') as ResourceDef;
    const pods = findResource('', 'v1', 'pods') as ResourceDef;
    reg.create(ns, undefined, { metadata: { name: 'default' } });
    const old = new Date(Date.now() - 2 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    reg.create(ev, 'default', {
      metadata: { name: 'old.1' },
      involvedObject: { kind: 'Pod', name: 'p' },
      lastTimestamp: old,
    });
    reg.create(ev, 'default', {
      metadata: { name: 'new.1' },
      involvedObject: { kind: 'Pod', name: 'p' },
      lastTimestamp: new Date().toISOString(),
    });
    const spec = { containers: [{ name: 'c', image: 'i' }] };
    reg.create(pods, 'default', {
      metadata: {
        name: 'orphan',
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'gone',
            uid: 'nope',
            controller: true,
          },
        ],
      },
      spec,
    });
    reg.create(pods, 'default', { metadata: { name: 'bare' }, spec });
    const gc = new GarbageCollector(reg);
    expect(gc.expireEvents(3600_000)).toBe(1);
    expect(reg.list(ev, 'default').map((e) => e.metadata.name)).toEqual(['new.1']);
    expect(gc.sweep()).toBe(1);
    expect(reg.list(pods, 'default').map((p) => p.metadata.name)).toEqual(['bare']);
    // the history keeps at most 3 events: older resourceVersions are gone (410 for watches)
    expect(store.eventsSince(0)).toBeUndefined();
    expect(store.eventsSince(store.resourceVersion - 2)?.length).toBe(2);
  });
});
