import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../support/free-port.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimNode, type SimNode } from '../../src/sim/node-sim.ts';
import { ADMIN, CLUSTER_PASSWORD, NODE_TOKEN } from '../support/harness.ts';

/**
 * The manager as a real process, killed with SIGKILL inside the simulated launch delay. Two processes
 * cannot share a manual clock, so every wait here polls observable state (HTTP answers), bounded.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
// Long enough for a loaded machine to see the reservation and kill; nothing waits for it after the kill.
const LAUNCH_DELAY_MS = 20_000;

/** Polls `probe` until it returns a value (not undefined), at most `ms` of real time. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function startManager(dataDir: string, port: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    stdio: 'ignore',
    env: {
      ...process.env,
      SM_SERVER_HOST: '127.0.0.1',
      SM_SERVER_PORT: String(port),
      SM_SERVER_DATADIR: dataDir,
      SM_SERVER_LOGLEVEL: 'silent',
      SM_REST_ADMINISTRATORTOKEN: ADMIN,
      SM_CLUSTER_PASSWORD: CLUSTER_PASSWORD,
      SM_SERVERAPI_ACCESSTOKEN: NODE_TOKEN,
      SM_CLUSTER_REPORTINGSPEED: '200',
      SM_AUTOSCALER_TICKINTERVAL: '100',
      SM_MANAGED_OPERATIONTIMEOUTMILLISECONDS: String(LAUNCH_DELAY_MS),
    },
  });
}

describe('manager killed with SIGKILL during a launch', () => {
  it('after the restart no host is ASSIGNED without a live node, and the group gets its node', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sm-crash-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}/streammanager/api/4.0/admin${path}${path.includes('?') ? '&' : '?'}accessToken=${ADMIN}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    const children: ChildProcess[] = [];
    const nodes: SimNode[] = [];
    t.after(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
      rmSync(dataDir, { recursive: true, force: true });
    });
    const ready = () => until('the manager to answer', async () => ((await api('GET', '/controller/provision')).status === 200 ? true : undefined));

    let manager = startManager(dataDir, port);
    children.push(manager);
    await ready();
    for (const h of ['127.0.0.71', '127.0.0.72']) {
      nodes.push(await startSimNode({ host: h, port: 0, manager: url, clusterPassword: CLUSTER_PASSWORD, accessToken: NODE_TOKEN, reportingSpeed: 200 }));
    }
    assert.equal((await api('POST', '/controller/provisions', nodes.map((n) => ({ location: 'us-test1-a', host: n.host, port: n.port, instanceType: 'standard' })))).status, 200);
    const policy = { name: 'one-origin', description: '', type: '', version: '0.0.2', targets: { target: [{ role: 'origin', minLimit: 1, maxLimit: 1, scaleAdjustment: 1, coolDownPeriod: 60000 }] } };
    assert.equal((await api('POST', '/configurations/scalepolicy', { policy })).status, 201);
    const group = (await api('POST', '/nodegroup', { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'one-origin', name: 'crash' })).json.name;
    // The route answers once the cloud has acknowledged: it never does here.
    const launch = api('POST', `/nodegroup/${group}/node/origin`).catch(() => 'killed');

    // Inside the launch delay: the host is reserved, the node not saved yet. Kill now.
    const assigned = await until('a host to be reserved', async () => {
      const list = (await api('GET', '/controller/provision/unavailable')).json as Array<{ host: string; state: string }>;
      return list.find((p) => p.state === 'ASSIGNED')?.host;
    });
    assert.deepEqual((await api('GET', `/nodegroup/${group}/node`)).json, [], 'no node row yet: the kill lands inside the launch');
    manager.kill('SIGKILL');
    await new Promise((r) => manager.once('exit', r));
    assert.equal(await launch, 'killed');

    manager = startManager(dataDir, port);
    children.push(manager);
    await ready();

    // The reconcile turns the crashed launch into a pending node; its host reports and it goes in service.
    const served = await until('the group to get its origin', async () => {
      const list = (await api('GET', `/nodegroup/${group}/node`)).json as Array<{ address: string; role: string; state: string }>;
      return list.find((n) => n.role === 'origin' && n.state === 'inservice');
    });
    assert.equal(served.address, assigned, 'the host reserved before the crash serves the node');
    const pool = (await api('GET', '/controller/provision')).json as Array<{ host: string; state: string }>;
    const live = new Set(((await api('GET', `/nodegroup/${group}/node`)).json as Array<{ address: string }>).map((n) => n.address));
    assert.deepEqual(pool.filter((p) => p.state === 'ASSIGNED' && !live.has(p.host)), [], 'no ASSIGNED host without a live node');
    assert.equal(pool.filter((p) => p.state === 'ASSIGNED').length, 1, 'launched once');
    const events = ((await api('GET', `/nodegroup/${group}/events?limit=100`)).json.events as Array<{ kind: string; node: string }>).filter((e) => e.kind === 'reconciled');
    assert.deepEqual(events.map((e) => e.node), [assigned]);

    manager.kill('SIGTERM');
    await new Promise((r) => manager.once('exit', r));
  });
});
