import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseLenientJson, LenientJsonError } from '../../src/lib/lenient-json.ts';

describe('lenient JSON', () => {
  it('reads the unquoted body the deployment scripts send', () => {
    assert.deepEqual(parseLenientJson('{regions:[us-east-1],launchConfig:lc1,scalePolicy:sp1,name:grp1}'), {
      regions: ['us-east-1'],
      launchConfig: 'lc1',
      scalePolicy: 'sp1',
      name: 'grp1',
    });
  });

  it('prefers strict JSON and keeps types', () => {
    assert.deepEqual(parseLenientJson('{"a":"1","b":1.0,"c":[true,null]}'), { a: '1', b: 1, c: [true, null] });
  });

  it('turns bare numbers and literals into values, mixed quoting included', () => {
    assert.deepEqual(parseLenientJson("{min:1.0, max: 10, ok:true, none:null, 'q':'x y', nested:{k:[a, 'b']}}"), {
      min: 1,
      max: 10,
      ok: true,
      none: null,
      q: 'x y',
      nested: { k: ['a', 'b'] },
    });
  });

  it('refuses broken input with a position, and never evaluates', () => {
    for (const bad of ['{a:1', '{a 1}', '[1,2', '{a:1} x', '{:1}', '{a:"x}']) assert.throws(() => parseLenientJson(bad), LenientJsonError, bad);
    assert.throws(() => parseLenientJson('['.repeat(100) + 'x' + ']'.repeat(100)), /too deep/);
    const o = parseLenientJson('{__proto__:{polluted:1}}') as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(o);
  });
});
