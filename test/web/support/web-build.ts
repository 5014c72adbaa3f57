/**
 * Makes sure web/dist holds a build of the current web/ sources: reuses it when it is newer
 * than every source file, else runs `vite build` (~5 s) in a child process (vite inside the
 * vitest worker would share its module graph and config).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const web = join(repo, 'web');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export async function ensureWebBuild(): Promise<void> {
  const index = join(web, 'dist', 'index.html');
  const sources = Math.max(
    newestMtime(join(web, 'src')),
    newestMtime(join(web, 'index.html')),
    newestMtime(join(web, 'vite.config.ts')),
    newestMtime(join(repo, 'package-lock.json')),
  );
  if (existsSync(index) && statSync(index).mtimeMs > sources) return;
  await promisify(execFile)(
    process.execPath,
    [
      join(repo, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      join(web, 'vite.config.ts'),
      '--logLevel',
      'warn',
    ],
    {
      cwd: repo,
      // vitest sets NODE_ENV=test, which would bundle React's development build: test what ships.
      env: { ...process.env, NODE_ENV: 'production' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}
