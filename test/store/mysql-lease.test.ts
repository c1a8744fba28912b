import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, describe, it } from 'node:test';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Lease } from '../../src/store/cluster-store.ts';
import { createLocalLease, createMysqlLease } from '../../src/store/mysql-lease.ts';
import { createTestDatabase } from '../support/mysql.ts';

const db = await createTestDatabase();
const third: Connection = await db.connect();
after(async () => {
  await third.end();
  await db.drop();
});

/** Connection id holding the lock, or null. */
async function holderOf(lock: string): Promise<number | null> {
  const [[row]] = await third.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS id', [lock]);
  return row.id === null ? null : Number(row.id);
}

describe('createMysqlLease', () => {
  let leases: Lease[] = [];
  let lock: string;
  const make = (log?: { warn(obj: object, msg: string): void }) => {
    const l = createMysqlLease(db.opts, lock, log);
    leases.push(l);
    return l;
  };
  const fresh = () => {
    // GET_LOCK names are server-wide: a unique name keeps parallel runs apart.
    lock = `sm-test-lease-${process.pid}-${randomBytes(4).toString('hex')}`;
    leases = [];
  };
  afterEach(async () => {
    for (const l of leases) await l.release();
  });

  it('exactly one of two leases holds it, and keeps holding it', async () => {
    fresh();
    const a = make();
    const b = make();
    assert.equal(a.held, false);
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    assert.equal(a.held, true);
    assert.equal(b.held, false);
    // re-checks on later ticks keep the roles
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    assert.notEqual(await holderOf(lock), null);
  });

  it('after release, the other lease acquires on its next call', async () => {
    fresh();
    const a = make();
    const b = make();
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    await a.release();
    assert.equal(a.held, false);
    assert.equal(await holderOf(lock), null);
    assert.equal(await b.acquire(), true);
    assert.equal(b.held, true);
    assert.equal(await a.acquire(), false);
  });

  it("when the holder's connection is killed, the other acquires and the first reports not held", async () => {
    fresh();
    const warnings: string[] = [];
    const a = make({ warn: (_obj, msg) => warnings.push(msg) });
    const b = make();
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);

    const id = await holderOf(lock);
    assert.ok(id !== null);
    await third.query(`KILL ${id}`);
    // KILL returns before the killed thread frees its locks: wait for the lock to be free by taking
    // it from the third connection (blocking GET_LOCK, no sleep), then hand it back.
    const [[got]] = await third.query<RowDataPacket[]>('SELECT GET_LOCK(?, 10) AS v', [lock]);
    assert.equal(Number(got.v), 1);
    await third.query('SELECT RELEASE_LOCK(?)', [lock]);

    assert.equal(await b.acquire(), true);
    assert.equal(await a.acquire(), false);
    assert.equal(a.held, false);
    assert.equal(b.held, true);
    assert.ok(warnings.length > 0, 'the lost lease is logged');
  });

  it('never throws when the server is unreachable, and logs without the password', async () => {
    const logged: object[] = [];
    const l = createMysqlLease(
      { host: '127.0.0.1', port: 1, user: 'root', password: 'top-secret-pw', database: 'x' },
      'sm-test-unreachable',
      { warn: (obj, msg) => logged.push({ ...obj, msg }) },
    );
    assert.equal(await l.acquire(), false);
    assert.equal(l.held, false);
    assert.equal(await l.acquire(), false);
    await l.release();
    assert.equal(logged.length, 2);
    assert.ok(!JSON.stringify(logged).includes('top-secret-pw'));
  });

  it('accepts lock names longer than the 64 characters MySQL allows', async () => {
    fresh();
    lock = `${lock}-${'x'.repeat(80)}`;
    const a = make();
    const b = make();
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
  });
});

describe('createLocalLease', () => {
  it('is always held while the process runs', async () => {
    const l = createLocalLease();
    assert.equal(l.held, true);
    assert.equal(await l.acquire(), true);
    assert.equal(await l.acquire(), true);
    await l.release();
    assert.equal(l.held, false);
  });
});
