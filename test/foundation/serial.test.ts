import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSerial } from '../../src/lib/serial.ts';

test('serial: one at a time, in call order; a failure reaches only its caller', async () => {
  const serial = createSerial();
  const log: string[] = [];
  const step = (name: string, ms: number, fail = false) => () =>
    new Promise<string>((resolve, reject) => {
      log.push(`start ${name}`);
      setTimeout(() => {
        log.push(`end ${name}`);
        if (fail) reject(new Error(name));
        else resolve(name);
      }, ms);
    });
  const a = serial(step('a', 20));
  const b = serial(step('b', 1, true));
  const c = serial(step('c', 1));
  assert.equal(await a, 'a');
  await assert.rejects(b, /b/);
  assert.equal(await c, 'c');
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('serial: separate queues do not wait for each other', async () => {
  const s1 = createSerial();
  const s2 = createSerial();
  let release!: () => void;
  const blocked = s1(() => new Promise<void>((r) => (release = r)));
  assert.equal(await s2(async () => 'free'), 'free');
  release();
  await blocked;
});
