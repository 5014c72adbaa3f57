/** Maps each item of a subscription's source iterator; `return()` reaches the source (an unsubscribe ends its feed listener). */
export function mapIterator<T, U>(
  source: AsyncIterator<T>,
  fn: (item: T) => U,
): AsyncIterableIterator<U> {
  const mapped: AsyncIterableIterator<U> = {
    next: async () => {
      const n = await source.next();
      return n.done ? { value: undefined, done: true } : { value: fn(n.value), done: false };
    },
    return: async () => {
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}

/** A subscription source with nothing to send: it completes at once. */
export function emptyIterator<T>(): AsyncIterableIterator<T> {
  const it: AsyncIterableIterator<T> = {
    next: () => Promise.resolve({ value: undefined, done: true }),
    return: () => Promise.resolve({ value: undefined, done: true }),
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
