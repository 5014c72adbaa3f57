/**
 * `phantom sim --port <p> [--name <cluster>] [--kubeconfig <file>] [--data <dir>] [--host <addr>]
 * [--advertise-url <url>]`: runs one
 * simulated Kubernetes cluster in the foreground, e.g. to point Phantom replicas
 * (PHANTOM_KUBECONFIG) or kubectl at a shared cluster. With `--data` its objects survive a
 * restart (see sim/persistence.ts). `--host` binds another address than 127.0.0.1 (the
 * simulator has no authentication: only inside a private network such as compose's), and
 * `--advertise-url` is the URL written into the kubeconfig. Ctrl-C stops it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startSimulatedCluster } from './sim/index.js';

export interface SimArgs {
  port: number;
  name: string;
  kubeconfig?: string;
  /** Directory keeping the cluster's objects across restarts. */
  data?: string;
  host?: string;
  advertiseUrl?: string;
}

/** Parses the `sim` command's arguments; throws with a usage line on a bad one. */
export function parseSimArgs(argv: string[]): SimArgs {
  const out: Partial<SimArgs> = { name: 'sim-1' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === '--port') {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error(`--port must be 0–65535, not "${value}"`);
      out.port = port;
    } else if (flag === '--name') {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value))
        throw new Error(`--name must be a DNS-1123 label, not "${value}"`);
      out.name = value;
    } else if (flag === '--kubeconfig') out.kubeconfig = value;
    else if (flag === '--data') out.data = value;
    else if (flag === '--host') out.host = value;
    else if (flag === '--advertise-url') {
      if (!/^https?:\/\/[^\s/]+\/?$/.test(value))
        throw new Error(`--advertise-url must be http(s)://host[:port], not "${value}"`);
      out.advertiseUrl = value;
    } else throw new Error(`unknown option ${flag}`);
  }
  if (out.port === undefined) throw new Error('--port is required (0 picks a free port)');
  return out as SimArgs;
}

export async function runSim(argv: string[]): Promise<void> {
  let args: SimArgs;
  try {
    args = parseSimArgs(argv);
  } catch (e) {
    process.stderr.write(
      `phantom sim: ${(e as Error).message}\nUsage: phantom sim --port <p> [--name <cluster>] [--kubeconfig <file>] [--data <dir>] [--host <addr>] [--advertise-url <url>]\n`,
    );
    process.exit(2);
  }
  const sim = await startSimulatedCluster({
    name: args.name,
    port: args.port,
    dataDir: args.data,
    host: args.host,
    advertiseUrl: args.advertiseUrl,
  });
  if (args.kubeconfig) {
    mkdirSync(dirname(args.kubeconfig), { recursive: true });
    writeFileSync(args.kubeconfig, sim.kubeconfigYaml(), { mode: 0o600 });
  }
  process.stdout.write(
    `Simulated cluster "${sim.name}" at ${sim.url}${args.kubeconfig ? ` (kubeconfig: ${args.kubeconfig})` : ''}${args.data ? ` (objects kept in ${args.data})` : ''}\n`,
  );
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
