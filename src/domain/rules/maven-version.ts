/**
 * Maven's version ordering (`org.apache.maven.artifact.versioning.ComparableVersion`, as in
 * Maven 3.8), so `2.9.0 < 2.17.1`, `2.17.1-rc1 < 2.17.1 < 2.17.1-sp1` and `1.0.Final == 1`.
 *
 * Written here rather than taken from npm: the one npm port (`mvncmp` 1.0.0) orders a sub-list
 * before a qualifier (`1-1 < 1-sp`) where Maven orders it after, and compares qualifiers with
 * `localeCompare`. test/unit/maven-version.test.ts checks this one against a table produced by
 * Maven 3.8.7's own ComparableVersion.
 *
 * The rules: the version is lower-cased and split on `.` and `-`, and where digits meet letters
 * (`1.0alpha1` → `1, 0, [alpha, [1]]`). A `-` or a digit/letter transition opens a sub-list, and
 * so does a qualifier that ends the version or is followed by digits (`1.sp` = `1-sp`).
 * Trailing "null" items (0, the empty qualifier and its aliases `ga`, `final`, `release`) are
 * dropped. Known qualifiers order `alpha < beta < milestone < rc = cr < snapshot < "" < sp`;
 * unknown ones come after, in lexical order; `a1`, `b1`, `m1` mean alpha-1, beta-1,
 * milestone-1. A number beats a qualifier and a sub-list at the same place.
 */

type Item =
  | { kind: 'int'; value: bigint }
  | { kind: 'string'; value: string }
  | { kind: 'list'; items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const SHORTHANDS: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

/** A string that sorts qualifiers in Maven's order under plain code-unit comparison. */
function comparableQualifier(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

// Java's String.compareTo: code units, not locale (so the order never depends on the host).
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function stringItem(raw: string, followedByDigit: boolean): Item {
  let v = followedByDigit && raw.length === 1 ? (SHORTHANDS[raw] ?? raw) : raw;
  v = ALIASES[v] ?? v;
  return { kind: 'string', value: v };
}

const parseItem = (isDigit: boolean, buf: string): Item =>
  isDigit ? { kind: 'int', value: BigInt(buf) } : stringItem(buf, false);

function isNull(item: Item): boolean {
  if (item.kind === 'int') return item.value === 0n;
  if (item.kind === 'string') return comparableQualifier(item.value) === RELEASE_INDEX;
  return item.items.length === 0;
}

function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i];
    if (isNull(last)) list.splice(i, 1);
    else if (last.kind !== 'list') break;
  }
}

function parse(version: string): Item[] {
  const v = version.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  const openSubList = (): void => {
    const sub: Item[] = [];
    list.push({ kind: 'list', items: sub });
    list = sub;
    stack.push(sub);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '.' || c === '-') {
      list.push(i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, v.slice(start, i)));
      start = i + 1;
      if (c === '-') openSubList();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        // `X1` after something else: the qualifier opens its own sub-list (`2.0.0.M1` = `2-milestone-1`).
        if (list.length) openSubList();
        list.push(stringItem(v.slice(start, i), true));
        start = i;
        openSubList();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, v.slice(start, i)));
        start = i;
        openSubList();
      }
      isDigit = false;
    }
  }
  if (v.length > start) {
    // A trailing qualifier after a dot counts as after a hyphen: `1.sp` = `1-sp`, `1.0.Final` = `1`.
    if (!isDigit && list.length) openSubList();
    list.push(parseItem(isDigit, v.slice(start)));
  }
  while (stack.length) normalize(stack.pop()!);
  return root;
}

/** Compares `a` with `b`, where `b` may be absent (a shorter list). */
function compareItem(a: Item, b: Item | null): number {
  if (a.kind === 'int') {
    if (!b) return a.value === 0n ? 0 : 1; // 1.0 == 1, 1.1 > 1
    if (b.kind === 'int') return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
    return 1; // 1.1 > 1-sp, 1.1 > 1-1
  }
  if (a.kind === 'string') {
    if (!b) return cmpStr(comparableQualifier(a.value), RELEASE_INDEX); // 1-rc < 1, 1-sp > 1
    if (b.kind === 'string')
      return cmpStr(comparableQualifier(a.value), comparableQualifier(b.value));
    return -1; // 1.any < 1.1, 1.any < 1-1
  }
  if (!b) return a.items.length === 0 ? 0 : compareItem(a.items[0], null);
  if (b.kind === 'int') return -1; // 1-1 < 1.0.x
  if (b.kind === 'string') return 1; // 1-1 > 1-sp
  return compareLists(a.items, b.items);
}

function compareLists(left: Item[], right: Item[]): number {
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = left[i] ?? null;
    const r = right[i] ?? null;
    const result = l === null ? (r === null ? 0 : -compareItem(r, null)) : compareItem(l, r);
    if (result !== 0) return result;
  }
  return 0;
}

/** Maven's order of two versions: negative when `a` is older, 0 when equal, positive when newer. */
export function compareMavenVersions(a: string, b: string): number {
  return Math.sign(compareLists(parse(a), parse(b)));
}

/** Maven's canonical form of a version (`1.0.0.Final` → `1`, `2.0-RC1` → `2-rc-1`). */
export function canonicalMavenVersion(version: string): string {
  const show = (items: Item[]): string =>
    items
      .map((it, i) => {
        const s = it.kind === 'list' ? show(it.items) : String(it.value);
        return i === 0 ? s : `${it.kind === 'list' ? '-' : '.'}${s}`;
      })
      .join('');
  return show(parse(version));
}
