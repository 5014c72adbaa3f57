/**
 * `limit` / `continue` on lists, as the apiserver pages: items in key order (namespace/name),
 * a continue token naming the list's resourceVersion and the next key, `remainingItemCount`
 * when there is no selector, and 410 Expired once the token's resourceVersion has left the
 * history (etcd compaction upstream; the watch-history window here). Unlike etcd, the
 * simulator has no snapshots: later pages show the objects as they are now.
 */
import { badRequest, StatusError } from './errors.js';
import type { KObject, Obj } from './types.js';

interface Token {
  v: 'meta.k8s.io/v1';
  rv: number;
  /** First key of the next page. */
  start: string;
}

const keyOf = (obj: Obj): string => {
  const o = obj as KObject;
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
};

/** The page of `items` (sorted by key) for `limit` and `continueToken`; `oldestRv` is the oldest resourceVersion still served. */
export function page(
  items: Obj[],
  opts: {
    limit?: number;
    continueToken?: string | null;
    currentRv: number;
    oldestRv: number;
    selectors: boolean;
  },
): { items: Obj[]; resourceVersion: string; continue?: string; remainingItemCount?: number } {
  let rv = opts.currentRv;
  let from = 0;
  if (opts.continueToken) {
    let t: Token;
    try {
      t = JSON.parse(Buffer.from(opts.continueToken, 'base64').toString('utf8')) as Token;
    } catch {
      throw badRequest('continue key is not valid: illegal base64 data or JSON');
    }
    if (t?.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string')
      throw badRequest(
        'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
      );
    if (t.rv < opts.oldestRv)
      throw new StatusError(
        410,
        'Expired',
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        {},
      );
    rv = t.rv;
    from = items.findIndex((o) => keyOf(o) >= t.start);
    if (from < 0) from = items.length;
  }
  const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
  const rest = items.slice(from);
  if (!limit || rest.length <= limit) return { items: rest, resourceVersion: String(rv) };
  const pageItems = rest.slice(0, limit);
  const next = rest[limit];
  const token: Token = { v: 'meta.k8s.io/v1', rv, start: keyOf(next) };
  const out: ReturnType<typeof page> = {
    items: pageItems,
    resourceVersion: String(rv),
    continue: Buffer.from(JSON.stringify(token)).toString('base64'),
  };
  if (!opts.selectors) out.remainingItemCount = rest.length - limit;
  return out;
}
