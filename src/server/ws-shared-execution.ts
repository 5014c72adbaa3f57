/**
 * graphql-ws's `subscribe` for Phantom: graphql-js's own (`createSourceEventStream`, then one
 * `execute` per event), except that for the subscriptions in {@link SHAREABLE_SUBSCRIPTIONS}
 * the execution of one event is done once per selection (the operation's text, its variables
 * and name) and its result handed to every subscriber with that selection, instead of once per
 * subscriber (issue 9, P3: at thousands of subscribers the per-subscriber execution of the
 * same selection on the same event was a large share of each event's CPU).
 *
 * Why it is the same answer: the event object is the very one the feed handed to every
 * subscriber (`PlatformEventFeed.deliver`), and the fields of `PlatformEvent` read the event
 * only, never the context or the viewer. Who may see an event is decided before this point,
 * per subscriber, in the source stream (`canSeeEvent` in subscribePlatformEvents): an event a
 * subscriber may not see never reaches its execution. Events replayed from the table are
 * objects of that subscriber alone, so they are never shared. A subscription field whose
 * fields read the context must not be listed here.
 */
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  OperationTypeNode,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { DIRECT_DELIVERY, directDeliveryOf, type DirectDelivery } from '../pubsub/index.js';

/** Root subscription fields whose result depends on the event and the selection only. */
export const SHAREABLE_SUBSCRIPTIONS = new Set(['platformEvents']);

/** Executions run (tests count them: one per event per selection for shared subscriptions). */
export const sharedExecutionStats = { executions: 0, shared: 0 };

type Result = ExecutionResult | Promise<ExecutionResult>;

const printed = new WeakMap<DocumentNode, string>();
/** Per event object: results by selection key. Gone with the event once every subscriber has it. */
const results = new WeakMap<object, Map<string, Result>>();
/** Results handed to more than one subscriber as the same object (ws-transport.ts serializes them once). */
const sharedResults = new WeakSet<object>();

/** Whether `result` is a shared execution's, the same object for every subscriber of its selection. */
export function isSharedResult(result: unknown): boolean {
  return typeof result === 'object' && result !== null && sharedResults.has(result);
}

const isPromise = (v: unknown): v is Promise<ExecutionResult> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';

/** The sharing key of an operation, or null when its results may differ by subscriber. */
export function shareKey(args: ExecutionArgs): string | null {
  const op = getOperationAST(args.document, args.operationName ?? undefined);
  if (op?.operation !== OperationTypeNode.SUBSCRIPTION) return null;
  const roots = op.selectionSet.selections;
  if (
    roots.length !== 1 ||
    roots[0].kind !== Kind.FIELD ||
    !SHAREABLE_SUBSCRIPTIONS.has(roots[0].name.value)
  )
    return null;
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  return `${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${text}`;
}

function run(args: ExecutionArgs, payload: unknown): Result {
  sharedExecutionStats.executions++;
  return execute({ ...args, rootValue: payload });
}

function executeShared(args: ExecutionArgs, key: string, payload: unknown): Result {
  if (typeof payload !== 'object' || payload === null) return run(args, payload);
  let byKey = results.get(payload);
  if (!byKey) results.set(payload, (byKey = new Map<string, Result>()));
  const hit = byKey.get(key);
  if (hit !== undefined) {
    sharedExecutionStats.shared++;
    return hit;
  }
  const r = run(args, payload);
  if (isPromise(r))
    void r.then(
      (v) => sharedResults.add(v),
      () => undefined,
    );
  else sharedResults.add(r);
  byKey.set(key, r);
  return r;
}

const DONE: IteratorResult<ExecutionResult, void> = { value: undefined, done: true };

/**
 * Maps a source stream to execution results, passing return()/throw() on (as graphql-js's
 * mapAsyncIterator), without a promise of its own per event when the execution is synchronous
 * (the shared execution of an event already done for another subscriber).
 */
function mapResults(
  source: AsyncIterable<unknown>,
  fn: (payload: unknown) => Result,
): AsyncGenerator<ExecutionResult, void, void> {
  const it = source[Symbol.asyncIterator]();
  const close = async () => {
    await it.return?.();
  };
  const failed = (e: unknown): Promise<never> =>
    close().then(
      () => Promise.reject(e as Error),
      () => Promise.reject(e as Error),
    );
  const map = (
    r: IteratorResult<unknown>,
  ): IteratorResult<ExecutionResult, void> | Promise<IteratorResult<ExecutionResult, void>> => {
    if (r.done) return DONE;
    let v: Result;
    try {
      v = fn(r.value);
    } catch (e) {
      return failed(e);
    }
    if (!isPromise(v)) return { value: v, done: false };
    return v.then((value) => ({ value, done: false }) as const, failed);
  };
  const mapped = {
    next(): Promise<IteratorResult<ExecutionResult, void>> {
      return it.next().then(map);
    },
    async return(): Promise<IteratorResult<ExecutionResult, void>> {
      await close();
      return DONE;
    },
    async throw(err?: unknown): Promise<IteratorResult<ExecutionResult, void>> {
      if (typeof it.throw === 'function') {
        const r = await it.throw(err);
        return r.done ? DONE : { value: await fn(r.value), done: false };
      }
      await close();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}

/** The `subscribe` option of graphql-ws's useServer. */
export async function sharedSubscribe(
  args: ExecutionArgs,
): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const key = shareKey(args);
  if (key == null) return mapResults(stream, (p) => run(args, p));
  const mapped = mapResults(stream, (p) => executeShared(args, key, p));
  // Direct delivery of the source passed on as results (see DIRECT_DELIVERY): an event whose
  // shared execution is synchronous and without errors goes to the sink as that result;
  // anything else takes the iterator's path (which finds the same execution in the cache).
  const offer = directDeliveryOf<unknown>(stream);
  if (offer) {
    const direct: DirectDelivery<ExecutionResult> = {
      [DIRECT_DELIVERY]: (send) =>
        offer((payload) => {
          const r = executeShared(args, key, payload);
          return !isPromise(r) && !r.errors?.length && send(r);
        }),
    };
    Object.assign(mapped, direct);
  }
  return mapped;
}
