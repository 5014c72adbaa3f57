/**
 * A simulated cluster's objects on disk (`phantom sim --data DIR`, the embedded clusters in
 * `PHANTOM_DATA_DIR/clusters/<name>`): a snapshot plus an append-only journal of every write,
 * so a restarted server serves the same objects and continues the resourceVersion sequence.
 *
 * Each write is one synchronous `write(2)` of one JSON line (no fsync): a killed process loses
 * nothing the kernel received, a power loss may lose the last writes. A torn last line (a crash
 * in mid-write) is ignored at load. The journal is folded into a new snapshot at every start
 * and whenever it reaches {@link JOURNAL_LIMIT} lines, written to a temp file and renamed.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { KObject } from './types.js';

/** Journal lines after which the state is rewritten as one snapshot. */
export const JOURNAL_LIMIT = 20_000;

/** One stored object and its bucket (`pods`, `deployments.apps`, …). */
export interface StoredObject {
  storeKey: string;
  object: KObject;
}

/** What a data directory held at start. */
export interface PersistedState {
  resourceVersion: number;
  objects: StoredObject[];
  /** The port the cluster last listened on (tried first at the next start), if any. */
  port?: number;
}

type JournalLine =
  | { op: 'put'; rv: number; k: string; o: KObject }
  | { op: 'del'; rv: number; k: string; ns?: string; n: string };

const SNAPSHOT = 'snapshot.json';
const JOURNAL = 'journal.jsonl';
const META = 'meta.json';

const idOf = (k: string, ns: string | undefined, name: string | undefined): string =>
  `${k}\u0000${ns ?? ''}\u0000${name}`;

/** The journal of one data directory; create with {@link openDataDir}. */
export class ClusterDataDir {
  private fd: number | undefined;
  private lines = 0;

  private constructor(readonly dir: string) {}

  /** Reads the directory (creating it), folds the journal into a fresh snapshot, and opens the journal for appending. */
  static open(dir: string): { data: ClusterDataDir; state: PersistedState } {
    mkdirSync(dir, { recursive: true });
    const objects = new Map<string, StoredObject>();
    let rv = 0;
    const snapPath = join(dir, SNAPSHOT);
    if (existsSync(snapPath)) {
      const snap = JSON.parse(readFileSync(snapPath, 'utf8')) as {
        resourceVersion: number;
        objects: StoredObject[];
      };
      rv = snap.resourceVersion;
      for (const s of snap.objects)
        objects.set(idOf(s.storeKey, s.object.metadata?.namespace, s.object.metadata?.name), s);
    }
    const journalPath = join(dir, JOURNAL);
    if (existsSync(journalPath)) {
      for (const text of readFileSync(journalPath, 'utf8').split('\n')) {
        if (!text) continue;
        let line: JournalLine;
        try {
          line = JSON.parse(text) as JournalLine;
        } catch {
          break; // a torn last write: everything before it is complete
        }
        if (line.rv <= rv) continue; // already in the snapshot
        rv = line.rv;
        if (line.op === 'put')
          objects.set(idOf(line.k, line.o.metadata?.namespace, line.o.metadata?.name), {
            storeKey: line.k,
            object: line.o,
          });
        else objects.delete(idOf(line.k, line.ns, line.n));
      }
    }
    let port: number | undefined;
    try {
      const meta = JSON.parse(readFileSync(join(dir, META), 'utf8')) as { port?: unknown };
      if (typeof meta.port === 'number') port = meta.port;
    } catch {
      /* no meta yet */
    }
    const state: PersistedState = { resourceVersion: rv, objects: [...objects.values()], port };
    const data = new ClusterDataDir(dir);
    data.writeSnapshot(state.resourceVersion, state.objects);
    return { data, state };
  }

  /** Replaces snapshot and journal with `objects` at `resourceVersion`. */
  writeSnapshot(resourceVersion: number, objects: StoredObject[]): void {
    const tmp = join(this.dir, `${SNAPSHOT}.tmp`);
    writeFileSync(tmp, JSON.stringify({ resourceVersion, objects }));
    renameSync(tmp, join(this.dir, SNAPSHOT));
    // The snapshot covers every journal line: start an empty journal.
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(join(this.dir, JOURNAL), 'w');
    this.lines = 0;
  }

  /** Records a write; returns true when the journal is long enough to be folded into a snapshot. */
  put(rv: number, storeKey: string, object: KObject): boolean {
    return this.append({ op: 'put', rv, k: storeKey, o: object });
  }

  remove(rv: number, storeKey: string, ns: string | undefined, name: string): boolean {
    return this.append({ op: 'del', rv, k: storeKey, ns, n: name });
  }

  private append(line: JournalLine): boolean {
    if (this.fd === undefined) return false;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    return ++this.lines >= JOURNAL_LIMIT;
  }

  /** Remembers the port, so the next start tries it first (kubeconfigs keep working when it is free). */
  savePort(port: number): void {
    writeFileSync(join(this.dir, META), JSON.stringify({ port }));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
