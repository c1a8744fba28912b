import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createConnection } from 'mysql2/promise';
import { findMariaDb, INSTALL_COMMAND, reapStale, startOwnMariaDb } from '../support/own-mariadb.ts';

const root = mkdtempSync(join(tmpdir(), 'own-mariadb-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const answers = async (port: number) => {
  try {
    const c = await createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 2000 });
    await c.end();
    return true;
  } catch {
    return false;
  }
};

// Each case has its own server: they run side by side.
describe('throw-away test MariaDB', { concurrency: true }, () => {
  it('without a server binary fails at once with the one install command', async () => {
    const empty = mkdtempSync(join(root, 'empty-'));
    assert.throws(() => findMariaDb(empty), (e: Error) => e.message.includes(INSTALL_COMMAND));
    await assert.rejects(startOwnMariaDb({ searchPath: empty, root: empty }), (e: Error) => e.message.includes(INSTALL_COMMAND));
    assert.deepEqual(readdirSync(empty), []);
  });

  it('serves root on its own port, and stop() shuts it down and removes its files', async () => {
    const db = await startOwnMariaDb({ root });
    assert.notEqual(db.port, 3306);
    const c = await createConnection({ host: db.host, port: db.port, user: db.user, password: db.password });
    await c.query('CREATE DATABASE probe');
    await c.end();
    await db.stop();
    assert.equal(existsSync(db.dir), false);
    assert.equal(await answers(db.port), false);
  });

  it('a server whose run died is killed and removed by the next run', async () => {
    const db = await startOwnMariaDb({ root });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(join(db.dir, 'owner.pid'), String(dead));
    assert.deepEqual(reapStale(root), [db.dir]);
    assert.equal(existsSync(db.dir), false);
    assert.equal(await answers(db.port), false);
  });

  it('npm test starts it when asked, hands it to the tests, and removes it after a red run', () => {
    const own = mkdtempSync(join(root, 'run-'));
    const out = join(own, 'probe.json');
    // Without the runner's marker the nested `node --test` reports on its own, with its own exit code.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/test.ts', 'test/fixtures/own-db-probe.ts'],
      { env: { ...env, SM_TEST_DB_OWN: '1', TMPDIR: own, PROBE_OUT: out }, encoding: 'utf8' },
    );
    assert.equal(run.status, 1, `the probe fails on purpose:\n${run.stdout}${run.stderr}`);
    const probe = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(String(probe.port), probe.env);
    assert.notEqual(probe.port, 3306);
    assert.deepEqual(readdirSync(own).filter((n) => n.startsWith('sm-test-mariadb-')), []);
  });
});
