/**
 * Builds web/ into web/dist, which the server serves (src/server/playground.ts).
 * `npm run build` runs it; `npx vite --config web/vite.config.ts` is the dev server.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The playground chunk is large (monaco) but lazy-loaded: only /graphql and /playground load it.
    chunkSizeWarningLimit: 8000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // graphiql's "use no memo" directives are React-compiler hints; dropping them is harmless.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  // The dev server proxies the API to a Phantom on :4000 (`npm start`), or PHANTOM_API_URL.
  server: {
    proxy: {
      '/graphql': { target: process.env.PHANTOM_API_URL ?? 'http://127.0.0.1:4000', ws: true },
    },
  },
  // Pre-bundling would break graphiql's worker URLs in dev mode.
  optimizeDeps: { exclude: ['graphiql/setup-workers/vite'] },
});
