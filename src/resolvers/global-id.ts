import { DomainError, badInput } from '../domain/shared/errors.js';

import { toGlobalId } from '../domain/shared/global-id.js';

export { toGlobalId };

export function fromGlobalId(globalId: string, field = 'id'): { type: string; id: string } {
  const raw = Buffer.from(globalId, 'base64url').toString('utf8');
  const i = raw.indexOf(':');
  if (i <= 0 || !/^[A-Za-z]+$/.test(raw.slice(0, i)) || !raw.slice(i + 1))
    throw badInput(field, `"${globalId}" is not a valid id.`);
  return { type: raw.slice(0, i), id: raw.slice(i + 1) };
}

/**
 * The numeric local id of `globalId` when it is the one canonical id of that object (exactly
 * what {@link toGlobalId} gives: `Type:<decimal without leading zeros>`, unpadded base64url),
 * else null. `Number()` alone would read `App:0x1`, `App: 1`, `App:1e0` or `App:01` as app 1:
 * one object must have one id, so caches, audit entries and clients comparing ids agree.
 */
export function canonicalLocalId(globalId: string, type: string): number | null {
  const { type: t, id } = fromGlobalId(globalId);
  if (t !== type || !/^(0|[1-9][0-9]{0,15})$/.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) && toGlobalId(type, n) === globalId ? n : null;
}

/**
 * Local numeric id of a global id of `type`. An id of another type, or one that does not
 * decode, is BAD_USER_INPUT naming `field`; a non-canonical spelling of a `type` id
 * (see {@link canonicalLocalId}) names nothing: NOT_FOUND.
 */
export function localId(globalId: string, type: string, field = 'id'): number {
  const g = fromGlobalId(globalId, field);
  if (g.type !== type) throw badInput(field, `"${globalId}" is not a ${type} id.`);
  const n = canonicalLocalId(globalId, type);
  if (n == null) throw new DomainError('NOT_FOUND', `${type} "${globalId}" not found.`, { field });
  return n;
}
