import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, CLUSTER_PASSWORD } from '../support/harness.ts';

const GROUP_BODY = { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2' };

for (const store of ['sqlite', 'mysql'] as const) {
  describe(`seed API walk-through (${store})`, () => {
    it('provision, create group, launch origin, edges appear, link and list', async (t) => {
      const h = await startHarness(t, { store });
      const cc = await h.api('GET', '/admin/debug/cloudcontroller');
      assert.equal(cc.status, 200);
      assert.equal(cc.text, 'Simulated Cloud Services');
      const noToken = await fetch(`${h.url}/streammanager/api/2.0/admin/debug/cloudcontroller`);
      assert.equal(noToken.status, 401);
      assert.match(String((await noToken.json()).errorMessage), /accessToken/);

      const nodes = await Promise.all([2, 3, 4].map((n) => h.node(n)));
      await h.provision(nodes);

      const created = await h.api('POST', '/admin/nodegroup', GROUP_BODY);
      assert.equal(created.status, 201, created.text);
      const group = created.json.name as string;
      assert.match(group, /^group-[0-9a-f-]{36}$/);
      assert.equal(created.json.state, 'new');

      const origin = await h.api('POST', `/admin/nodegroup/${group}/node/origin`);
      assert.equal(origin.status, 201, origin.text);
      assert.equal(origin.json.group, group);
      assert.equal(origin.json.role, 'origin');
      assert.match(origin.json.identifier, /^node-us-test1-a-\d+$/);
      await h.rt.ops.launchesSettled(group);

      // The seed policy's minimums come up with the first origin: 1 origin + 2 edges, all pending.
      const listed = await h.api('GET', `/admin/nodegroup/${group}/node`);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.json.map((n: any) => n.role).sort(), ['edge', 'edge', 'origin']);
      assert.ok(listed.json.every((n: any) => n.state === 'pending' && n.capacity === 500));
      assert.equal((await h.api('GET', '/admin/controller/provision/available')).json.length, 0);

      const byAddress = new Map(listed.json.map((n: any) => [n.address, n]));
      const originNode = nodes.find((n) => (byAddress.get(n.host) as any).role === 'origin')!;
      const edges = nodes.filter((n) => n !== originNode);

      // First reports: every node is assigned its role; edges are told to link to the origin.
      const originReply = await originNode.report();
      assert.equal(originReply.status, 'assigned');
      assert.equal(originReply.role, 'origin');
      for (const e of edges) {
        const r = await e.report();
        assert.equal(r.role, 'edge');
        assert.deepEqual(r.parents, [`${originNode.host}:${originNode.port}`]);
      }
      let rel = await h.api('GET', `/admin/nodegroup/${group}/node/relations?linkstate=true`);
      assert.equal(rel.json.length, 2);
      assert.ok(rel.json.every((r: any) => r.link.state === 'connecting' && r.parent.address === originNode.host));
      for (const e of edges) await e.report();
      rel = await h.api('GET', `/admin/nodegroup/${group}/node/relations?linkstate=true`);
      assert.ok(rel.json.every((r: any) => r.link.state === 'established'), JSON.stringify(rel.json));

      const groups = await h.api('GET', '/admin/nodegroup');
      assert.equal(groups.json.length, 1);
      assert.equal(groups.json[0].name, group);
      assert.equal(groups.json[0].state, 'active');
      const after = await h.api('GET', `/admin/nodegroup/${group}/node`);
      assert.ok(after.json.every((n: any) => n.state === 'inservice'));

      const stats = await h.api('GET', `/admin/nodegroup/${group}/stats`);
      const edgeStats = stats.json.targetTypeLoadSummary.find((s: any) => s.type === 'edge');
      assert.deepEqual(edgeStats, { type: 'edge', totalNodeCount: 2, totalActiveNodeCount: 2, netConnectionCapacity: 1000, netConnectionLoad: 0 });

      const map = await h.api('GET', `/admin/nodegroup/${group}/node/map`);
      assert.match(map.text, new RegExp(`ORIGINS: ${originNode.host.replace(/\./g, '\\.')}`));
      assert.match(map.text, /ESTABLISHED \[EDGE-us-test1/);
      assert.ok(CLUSTER_PASSWORD);
    });

    it('restart restores groups, nodes, streams and links from the store', async (t) => {
      const h = await startHarness(t, { store });
      const nodes = await Promise.all([5, 6, 7].map((n) => h.node(n)));
      await h.provision(nodes);
      const group = (await h.api('POST', '/admin/nodegroup', { ...GROUP_BODY, name: 'persisted' })).json.name;
      assert.equal(group, 'persisted');
      await h.api('POST', `/admin/nodegroup/${group}/node/origin`);
      await h.rt.ops.launchesSettled(group);
      for (const n of nodes) await n.report();
      const originNode = nodes.find((n) => n.state.role === 'origin')!;
      await originNode.publish('live', 'stream1');
      await h.rt.protocol.flush();
      const before = (await h.api('GET', `/admin/nodegroup/${group}/node`)).json;
      await h.stop();

      const h2 = await startHarness(t, { store, dataDir: h.dataDir, mysql: store === 'mysql' ? mysqlOf(h) : undefined, clock: h.clock });
      const afterNodes = (await h2.api('GET', `/admin/nodegroup/${group}/node`)).json;
      assert.deepEqual(afterNodes, before);
      assert.equal(h2.rt.view.nodesWithStream('live', 'stream1')[0]?.address, originNode.host);
      assert.equal(h2.rt.view.relationsOf(group).length, 2);
      assert.equal((await h2.api('GET', '/admin/controller/provision/unavailable')).json.length, 3);
    });
  });
}

function mysqlOf(h: { rt: { config: { config: { dbHost: string; dbPort: number; dbUser: string; dbPass: string; dbName: string } } } }) {
  const c = h.rt.config.config;
  return { host: c.dbHost, port: c.dbPort, user: c.dbUser, password: c.dbPass, database: c.dbName };
}
