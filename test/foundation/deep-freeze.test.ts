import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deepFreeze } from '../../src/lib/deep-freeze.ts';

test('deepFreeze: freezes nested objects and arrays in place and returns the same object', () => {
  const o = { a: { b: [1, { c: 2 }] }, s: 'x', n: null };
  assert.equal(deepFreeze(o), o);
  assert.ok(Object.isFrozen(o));
  assert.ok(Object.isFrozen(o.a));
  assert.ok(Object.isFrozen(o.a.b));
  assert.ok(Object.isFrozen(o.a.b[1]));
});

test('deepFreeze: primitives pass through; cycles terminate', () => {
  assert.equal(deepFreeze(3), 3);
  assert.equal(deepFreeze(null), null);
  const cyc: { self?: unknown; x: { y: number } } = { x: { y: 1 } };
  cyc.self = cyc;
  deepFreeze(cyc);
  assert.ok(Object.isFrozen(cyc.x));
});
