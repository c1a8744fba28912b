import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startHarness } from '../support/harness.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('GET /admin/debug/version', () => {
  it('answers the package version and the build commit (unknown when run from sources), admin only', async (t) => {
    const h = await startHarness(t);
    const r = await h.api('GET', '/admin/debug/version');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { version: pkg.version, commit: 'unknown' });
    const anonymous = await fetch(`${h.url}/streammanager/api/4.0/admin/debug/version`);
    assert.equal(anonymous.status, 401);
  });
});
