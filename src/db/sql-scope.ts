import { AsyncLocalStorage } from 'node:async_hooks';

/** Counts the SQL statements one HTTP request causes (background work runs outside any scope). */
export interface SqlScope {
  queries: number;
}

export const sqlScope = new AsyncLocalStorage<SqlScope>();
