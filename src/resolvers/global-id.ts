import { badInput } from '../domain/shared/errors.js';

export { toGlobalId } from '../domain/shared/global-id.js';

export function fromGlobalId(globalId: string, field = 'id'): { type: string; id: string } {
  const raw = Buffer.from(globalId, 'base64url').toString('utf8');
  const i = raw.indexOf(':');
  if (i <= 0 || !/^[A-Za-z]+$/.test(raw.slice(0, i)) || !raw.slice(i + 1)) throw badInput(field, `"${globalId}" is not a valid id.`);
  return { type: raw.slice(0, i), id: raw.slice(i + 1) };
}

/** Local numeric id of a global id of `type`, or a BAD_USER_INPUT naming `field`. */
export function localId(globalId: string, type: string, field = 'id'): number {
  const g = fromGlobalId(globalId, field);
  const n = Number(g.id);
  if (g.type !== type || !Number.isSafeInteger(n)) throw badInput(field, `"${globalId}" is not a ${type} id.`);
  return n;
}
