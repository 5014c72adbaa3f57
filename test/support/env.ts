/**
 * Test settings. `TEST_DATABASE_URL` (mysql://…) and `TEST_REDIS_URL` (redis://…) point the
 * suites at real MariaDB/MySQL and Redis; `.ci/run` always sets both. Without them only the
 * embedded suites run, and `test/support/global-setup.ts` names the suites left out.
 */
import { describe } from 'vitest';

export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;
export const testRedisUrl = process.env.TEST_REDIS_URL || undefined;

/** `describe` that runs only when a real Redis is configured. */
export const describeRedis = describe.runIf(Boolean(testRedisUrl));
/** `describe` that runs only when a real MySQL/MariaDB is configured. */
export const describeMysql = describe.runIf(Boolean(testDatabaseUrl));
/** `describe` that runs only when both real services are configured. */
export const describeServices = describe.runIf(Boolean(testDatabaseUrl && testRedisUrl));
