/** Names the way Kubernetes makes them: generateName suffixes, pod-template-hash, event names, UIDs. */
import { randomInt, randomUUID } from 'node:crypto';

/** apimachinery pkg/util/rand alphabet (no vowels, no confusable digits). */
export const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[randomInt(ALPHANUMS.length)];
  return s;
}

/** apimachinery `rand.SafeEncodeString`: each byte mapped onto ALPHANUMS. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

/** FNV-32a of a UTF-8 string. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** `pod-template-hash`: FNV-32a of the template (+ collisionCount), decimal, safe-encoded (as controller.ComputeHash). */
export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  let s = stable(template);
  if (collisionCount !== undefined && collisionCount !== null) s += `#${collisionCount}`;
  return safeEncodeString(String(fnv32a(s)));
}

export function newUid(): string {
  return randomUUID();
}

let eventSeq = 0n;
/** Event name `<object>.<hex nanoseconds>` like client-go's recorder. */
export function eventName(objectName: string): string {
  eventSeq += 1n;
  const nanos = BigInt(Date.now()) * 1_000_000n + eventSeq;
  return `${objectName}.${nanos.toString(16)}`;
}

/** RFC 3339 with seconds precision, as metav1.Time marshals. */
export function rfc3339(ms: number = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 with microseconds (metav1.MicroTime). */
export function microTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
