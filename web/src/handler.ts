/**
 * An event handler that runs an async function. urql answers a failed operation as data (the
 * pages show it with ErrorList), so a rejection here is a bug: it is logged rather than left
 * unhandled.
 */
export function handler<A extends unknown[]>(
  fn: (...args: A) => Promise<unknown>,
): (...args: A) => void {
  return (...args) => {
    fn(...args).catch((err: unknown) => console.error(err));
  };
}
