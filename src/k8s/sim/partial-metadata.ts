/** `Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1` responses (metadata-only clients). */
import type { KObject, Obj } from './types.js';

export type PartialKind = 'PartialObjectMetadata' | 'PartialObjectMetadataList';

/** Whether the Accept header asks for metadata only (and Tables were not preferred). */
export function wantsPartial(accept: string | undefined, list: boolean): boolean {
  if (!accept) return false;
  const want = list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  return accept
    .split(',')
    .some(
      (part) =>
        new RegExp(`(^|;)\\s*as=${want}\\s*(;|$)`).test(part) && /application\/json/.test(part),
    );
}

export function partialObject(o: Obj): Obj {
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: (o as KObject).metadata,
  };
}

export function partialList(items: Obj[], resourceVersion: string): Obj {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    items: items.map(partialObject),
  };
}
