import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { startHarness } from '../support/harness.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { flush } from '../../src/lib/manual-clock.ts';

describe('group deletion when the store refuses', () => {
  it('gives up after a few rounds, keeps the group deleting, and a second DELETE finishes it', async (t) => {
    const out = new PassThrough();
    let logs = '';
    out.on('data', (c) => (logs += c));
    const h = await startHarness(t, { log: createLogger('error', out) });
    const { group } = await h.cluster(160);
    // A real failure of the database, not a stub: every move to `terminating` is rejected.
    const db = new Database(join(h.dataDir, 'cluster.sqlite'));
    t.after(() => db.close());
    db.exec(`CREATE TRIGGER refuse BEFORE UPDATE OF state ON nodes WHEN NEW.state = 'terminating' BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);

    const first = await h.api('DELETE', `/admin/nodegroup/${group}`);
    assert.equal(first.status, 200);
    assert.equal(first.json.state, 'deleting');
    for (let i = 0; i < 2000 && !logs.includes('group deletion incomplete'); i++) await flush(1);
    assert.match(logs, /group deletion incomplete/);
    assert.equal(h.rt.view.groups.get(group)?.state, 'deleting');
    assert.equal(h.rt.view.nodesOf(group).length, 3, 'nothing half-removed');

    db.exec('DROP TRIGGER refuse');
    assert.equal((await h.api('DELETE', `/admin/nodegroup/${group}`)).status, 200);
    for (let i = 0; i < 2000 && h.rt.view.groups.has(group); i++) await flush(1);
    assert.equal(h.rt.view.groups.has(group), false);
    assert.equal((await h.api('GET', '/admin/controller/provision/available')).json.length, 3);
  });
});
