/**
 * The raw baseline of the P1 bench (issue 9): a hand-written node `http` + `mysql2` route that
 * answers `apps(first: N) { totalCount edges { node { name members { role user { username } } } } }`
 * with the same SQL Phantom runs (the page, the count, the members with their users) and
 * `JSON.stringify`. Run as a child process (`fork`), so it shares no event loop with Phantom;
 * it tells its port to the parent. No authorization: that is part of what Phantom's cost buys.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPool, type RowDataPacket } from 'mysql2/promise';

const url = new URL(process.env.RAW_DATABASE_URL!);
const pool = createPool({
  host: url.hostname,
  port: Number(url.port || 3306),
  user: decodeURIComponent(url.username || 'root'),
  password: decodeURIComponent(url.password),
  database: url.pathname.slice(1),
  connectionLimit: 10,
});

interface AppRow extends RowDataPacket {
  id: number;
  name: string;
}
interface CountRow extends RowDataPacket {
  count: number | string;
}
interface MemberRow extends RowDataPacket {
  app_id: number;
  role: string;
  username: string;
}

async function answer(body: string, res: ServerResponse): Promise<void> {
  const first = Number((JSON.parse(body) as { variables: { first: unknown } }).variables.first);
  const [apps] = await pool.query<AppRow[]>(
    'select id, name, kind, description, repository, build_command, start_command, stop_command, container, release_config, version, created_at, updated_at from apps order by name asc limit ?',
    [first + 1],
  );
  const page = apps.slice(0, first);
  const [[count], members] = await Promise.all([
    pool.query<CountRow[]>('select count(id) as count from apps').then(([r]) => r),
    pool
      .query<MemberRow[]>(
        'select m.app_id, m.role, u.id as user_id, u.username, u.display_name, u.is_admin from app_members m join users u on u.id = m.user_id where m.app_id in (?) order by m.id asc',
        [page.map((a) => a.id)],
      )
      .then(([r]) => r),
  ]);
  const byApp = new Map<number, { role: string; user: { username: string } }[]>();
  for (const m of members) {
    const list = byApp.get(m.app_id) ?? [];
    list.push({ role: m.role, user: { username: m.username } });
    byApp.set(m.app_id, list);
  }
  const data = {
    apps: {
      totalCount: Number(count.count),
      edges: page.map((a) => ({ node: { name: a.name, members: byApp.get(a.id) ?? [] } })),
    },
  };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ data }));
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    answer(body, res).catch((e: unknown) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
});
server.listen(0, '127.0.0.1', () =>
  process.send!({ port: (server.address() as AddressInfo).port }),
);
process.on('disconnect', () => process.exit(0));
// The bench asks for this process's CPU time (µs) around its rounds.
process.on('message', (m) => {
  if (m !== 'cpu') return;
  const u = process.cpuUsage();
  process.send!({ cpu: u.user + u.system });
});
