import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql must load once: otherwise "Cannot use GraphQLSchema from another module or realm".
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['reflect-metadata'],
    globalSetup: ['test/support/global-setup.ts'],
  },
});
