import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../support/harness.ts';
import { createTestDatabase } from '../support/mysql.ts';

describe('relation self-repair on each leader tick', () => {
  it('relinks an edge whose link was deleted behind the manager (view and store) and removes a stale link (SQLite)', async (t) => {
    const h = await startHarness(t);
    const { group, origin, edges, nodes } = await h.cluster(70);
    for (const n of nodes) await n.report();
    h.start();
    await h.tick();
    const [e1, e2] = edges;
    // A store error in the middle of saveRelations: neither the view nor the store has the link.
    await h.rt.store.deleteRelation(origin.host, e1.host);
    h.rt.view.removeRelation(origin.host, e1.host);
    // A link that must not exist: an edge is nobody's parent.
    await h.rt.store.saveRelation({ group, parent: e2.host, child: e1.host, state: 'established', stateUpdated: h.clock.now() });
    await origin.publish('live', 'cam');
    assert.equal((await h.api('GET', '/streammanager/api/4.0/event/live/cam?action=subscribe')).json.serverAddress, e2.host);

    await h.tick();
    const stored = (await h.rt.store.listRelations(group)).map((r) => `${r.parent}>${r.child}`).sort();
    assert.deepEqual(stored, [`${origin.host}>${e1.host}`, `${origin.host}>${e2.host}`].sort());
    assert.ok(h.rt.view.relation(origin.host, e1.host));
    assert.equal(h.rt.view.relation(e2.host, e1.host), undefined);
    const relink = (await h.events(group)).filter((e) => e.kind === 'relink');
    assert.equal(relink.length, 1);
    assert.deepEqual(relink[0].data, { linked: [`${origin.host} -> ${e1.host}`], unlinked: [`${e2.host} -> ${e1.host}`] });

    // The edge is told its parent again and, once linked, gets subscribers.
    assert.deepEqual((await e1.report()).parents, [`${origin.host}:${origin.port}`]);
    await e1.report();
    const picked = new Set<string>();
    for (let i = 0; i < 6; i++) picked.add((await h.api('GET', '/streammanager/api/4.0/event/live/cam?action=subscribe')).json.serverAddress);
    assert.ok(picked.has(e1.host), [...picked].join());

    // Nothing to repair: no new event.
    await h.tick();
    assert.equal((await h.events(group)).filter((e) => e.kind === 'relink').length, 1);
  });

  it('recreates within one tick a relation deleted directly in MariaDB', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const h = await startHarness(t, { store: 'mysql', mysql: db.opts });
    const { group, origin, edges, nodes } = await h.cluster(74);
    for (const n of nodes) await n.report();
    h.start();
    await h.tick();
    const before = (await h.rt.store.listRelations(group)).find((r) => r.child === edges[0].host)!;
    assert.equal(before.state, 'established');
    const sql = await db.connect();
    t.after(() => sql.end());
    await sql.query('DELETE FROM relations WHERE parent = ? AND child = ?', [origin.host, edges[0].host]);

    await h.tick();
    const after = (await h.rt.store.listRelations(group)).find((r) => r.child === edges[0].host);
    assert.ok(after, 'the link is back in the store');
    // The view's state is written back, or (when the multi-manager sync ran first) the link starts over.
    assert.ok(['established', 'prospective'].includes(after.state), after.state);
    await edges[0].report();
    await edges[0].report();
    await h.rt.protocol.flush();
    assert.equal((await h.rt.store.listRelations(group)).find((r) => r.child === edges[0].host)?.state, 'established');
    assert.equal((await h.events(group)).filter((e) => e.kind === 'relink').length, 1);
  });
});
