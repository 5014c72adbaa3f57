/**
 * `phantom sim --data DIR` as a process: objects created through it are there after the
 * process is stopped (SIGTERM) and started again on the same directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSimArgs } from '../../src/k8s/sim-command.js';

/** Starts `phantom sim` and resolves with the process and its URL (from its first line). */
function startSim(args: string[]): Promise<{ p: ChildProcess; url: string }> {
  const p = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'src/cli.ts', 'sim', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ p, url: m[1] });
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => reject(new Error(`phantom sim exited (${code}): ${err}`)));
  });
}

const stop = (p: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    p.once('exit', (code) => resolve(code));
    p.kill('SIGTERM');
  });

describe('phantom sim --data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-sim-cmd-'));
  let running: ChildProcess | undefined;
  afterAll(async () => {
    if (running && running.exitCode === null) await stop(running);
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses --data', () => {
    expect(parseSimArgs(['--port', '0', '--data', '/tmp/d'])).toEqual({
      port: 0,
      name: 'sim-1',
      data: '/tmp/d',
    });
  });

  it('keeps the objects across a stop and a start of the process', async () => {
    const args = ['--port', '0', '--name', 'lab', '--data', join(dir, 'lab')];
    const first = await startSim(args);
    running = first.p;
    const created = await fetch(`${first.url}/api/v1/namespaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kept' } }),
    });
    expect(created.status).toBe(201);
    const { metadata } = (await created.json()) as { metadata: { uid: string } };
    expect(await stop(first.p)).toBe(0);

    const second = await startSim(args);
    running = second.p;
    const read = await fetch(`${second.url}/api/v1/namespaces/kept`, {
      headers: { connection: 'close' },
    });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { metadata: { uid: string } }).metadata.uid).toBe(metadata.uid);
    expect(await stop(second.p)).toBe(0);
  });
});

describe('phantom sim --host / --advertise-url (compose)', () => {
  it('parses them and refuses a bad URL', () => {
    expect(
      parseSimArgs(['--port', '6443', '--host', '0.0.0.0', '--advertise-url', 'http://sim:6443']),
    ).toEqual({
      port: 6443,
      name: 'sim-1',
      host: '0.0.0.0',
      advertiseUrl: 'http://sim:6443',
    });
    expect(() => parseSimArgs(['--port', '1', '--advertise-url', 'sim:6443'])).toThrow(
      /--advertise-url must be/,
    );
  });

  it('binds the given address and writes the advertised URL into its kubeconfig', async () => {
    const { startSimulatedCluster } = await import('../../src/k8s/sim/index.js');
    const sim = await startSimulatedCluster({
      name: 'wide',
      host: '0.0.0.0',
      advertiseUrl: 'http://sim.internal:6443/',
    });
    try {
      expect(sim.kubeconfigYaml()).toContain('server: http://sim.internal:6443\n');
      const addr = (sim as any).server.address();
      expect(addr.address).toBe('0.0.0.0');
      const res = await fetch(`http://127.0.0.1:${addr.port}/version`, {
        headers: { connection: 'close' },
      });
      expect(res.status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});
