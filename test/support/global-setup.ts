/** Says plainly which suites an `npm test` without real services leaves out. */
export default function setup(): void {
  const missing: string[] = [];
  if (!process.env.TEST_DATABASE_URL) missing.push('TEST_DATABASE_URL (MySQL/MariaDB suites)');
  if (!process.env.TEST_REDIS_URL) missing.push('TEST_REDIS_URL (Redis suites)');
  if (missing.length) {
    process.stdout.write(
      `\n[phantom] Not set: ${missing.join(', ')}.\n` +
        `[phantom] Suites that need them are left out (reported as skipped); .ci/run sets both.\n\n`,
    );
  }
}
