import assert from 'node:assert/strict';
import type { Harness } from './harness.ts';
import type { SimNode } from '../../src/sim/node-sim.ts';

export const POLICY = {
  policy: {
    name: 'fast',
    description: 'test policy',
    type: '',
    version: '0.0.2',
    targets: {
      target: [
        { role: 'origin', minLimit: 1, maxLimit: 1, scaleAdjustment: 1, coolDownPeriod: 60000, estimatedWarmUpTime: 120000 },
        { role: 'edge', minLimit: 1, maxLimit: 4, scaleAdjustment: 1, coolDownPeriod: 60000, estimatedWarmUpTime: 120000 },
      ],
    },
  },
};
export const LAUNCH = {
  launchconfig: {
    name: 'small',
    description: '',
    image: 'managed',
    version: '0.0.2',
    targets: { target: [{ role: 'origin', instanceType: 'standard', connectionCapacity: 100 }, { role: 'edge', instanceType: 'standard', connectionCapacity: 10 }] },
    properties: { property: [] },
    metadata: { meta: [] },
  },
};

export interface Cluster {
  h: Harness;
  group: string;
  pool: SimNode[];
  /** Nodes the manager runs, by role. */
  role(r: string): SimNode[];
  /** Reports every live, assigned node (the nodes' heartbeats in real life). */
  heartbeat(): Promise<void>;
  /** Moves time in heartbeat-sized steps, every live node reporting on the way. */
  run(ms: number): Promise<void>;
}

/**
 * A group `g1` on policy `fast` (edges 1–4, cool-down 60 s) and launch config `small` (origin 100, edge 10
 * connections) over `poolSize` simulator nodes from 127.0.0.<first>, its first origin launched and reported.
 */
export async function cluster(h: Harness, poolSize: number, first: number): Promise<Cluster> {
  const pool = await Promise.all(Array.from({ length: poolSize }, (_, i) => h.node(first + i)));
  await h.provision(pool);
  assert.equal((await h.api('POST', '/admin/configurations/scalepolicy', POLICY)).status, 201);
  assert.equal((await h.api('POST', '/admin/configurations/launchconfig', LAUNCH)).status, 201);
  const group = (await h.api('POST', '/admin/nodegroup', { regions: ['us-test1'], launchConfig: 'small', scalePolicy: 'fast', name: 'g1' })).json.name;
  assert.equal((await h.api('POST', `/admin/nodegroup/${group}/node/origin`)).status, 201);
  await h.rt.ops.launchesSettled(group);
  const c: Cluster = {
    h,
    group,
    pool,
    role: (r) => pool.filter((n) => h.rt.view.nodes.get(n.host)?.role === r && h.rt.view.nodes.get(n.host)?.group === group),
    async heartbeat() {
      for (const n of pool) if (n.alive && h.rt.view.nodes.has(n.host)) await n.report();
    },
    async run(ms) {
      for (let done = 0; done < ms; done += 5000) {
        await c.heartbeat();
        await h.tick(Math.min(5000, ms - done));
      }
    },
  };
  await c.heartbeat();
  return c;
}
