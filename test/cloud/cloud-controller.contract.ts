import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloudError, type CloudController, type Instance, type LaunchRequest } from '../../src/cloud/cloud-controller.ts';
import type { ManualClock } from '../../src/lib/manual-clock.ts';

/**
 * What every CloudController must do, whatever cloud it drives (design §5). A controller's test file calls
 * defineCloudControllerContract with a factory; each case builds a fresh controller and cleans it up.
 *
 * `seedCapacity(n)` must make exactly `n` more instances of `controller.zones[0]` / CONTRACT_INSTANCE_TYPE
 * launchable (the simulated cloud provisions hosts; a real cloud's test would use a fake API with a quota).
 * `launchDelayMs`, when given, is the simulated operation delay a launch must wait on the clock.
 */
export const CONTRACT_INSTANCE_TYPE = 'standard';

export interface ContractHarness {
  controller: CloudController;
  clock: ManualClock;
  seedCapacity(n: number): Promise<void>;
  cleanup(): Promise<void>;
  launchDelayMs?: number;
}

interface Tracked<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}

function track<T>(p: Promise<T>): Tracked<T> {
  const s: Tracked<T> = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error: unknown) => Object.assign(s, { done: true, error }),
  );
  return s;
}

export function defineCloudControllerContract(name: string, make: () => Promise<ContractHarness>) {
  describe(`CloudController contract: ${name}`, () => {
    let seq = 0;
    const req = (h: ContractHarness, over: Partial<LaunchRequest> = {}): LaunchRequest => ({
      identifier: `node-${h.controller.zones[0]}-${1_700_000_000_000 + ++seq}`,
      role: 'edge',
      zone: h.controller.zones[0],
      instanceType: CONTRACT_INSTANCE_TYPE,
      group: 'contract-group',
      ...over,
    });

    /** Advances the clock until every promise settles (bounded, so a launch that never resolves fails the test). */
    async function drive<T>(h: ContractHarness, ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
      const tracked = ps.map(track);
      const step = Math.max(1, h.launchDelayMs ?? 1000);
      for (let i = 0; i < 100 && !tracked.every((x) => x.done); i++) await h.clock.advance(step);
      assert.ok(
        tracked.every((x) => x.done),
        'launch/terminate must settle once the clock has advanced',
      );
      return Promise.allSettled(ps);
    }
    async function launch(h: ContractHarness, r: LaunchRequest): Promise<Instance> {
      const [res] = await drive(h, [h.controller.launch(r)]);
      if (res.status === 'rejected') throw res.reason;
      return res.value;
    }
    async function withHarness(fn: (h: ContractHarness) => Promise<void>) {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    }
    const isExhausted = (e: unknown) => {
      assert.ok(e instanceof CloudError, `expected a CloudError, got ${String(e)}`);
      assert.equal(e.code, 'POOL_EXHAUSTED');
      assert.equal(e.retryable, false);
      assert.ok(e.message.length > 20, 'the message must tell the operator what to do');
      return true;
    };

    it('names itself and maps every zone to one of its regions', () =>
      withHarness(async (h) => {
        assert.ok(h.controller.name.length > 0);
        assert.ok(h.controller.zones.length > 0 && h.controller.regions.length > 0);
        for (const z of h.controller.zones) assert.ok(h.controller.regions.includes(h.controller.regionOfZone(z)), z);
      }));

    it('launch returns an instance that list and describe show', () =>
      withHarness(async (h) => {
        await h.seedCapacity(1);
        const r = req(h, { role: 'origin' });
        const inst = await launch(h, r);
        assert.equal(inst.identifier, r.identifier);
        assert.ok(inst.host.length > 0);
        assert.equal(inst.zone, r.zone);
        assert.equal(inst.region, h.controller.regionOfZone(r.zone));
        assert.equal(inst.instanceType, r.instanceType);
        assert.notEqual(inst.state, 'terminated');
        assert.equal(typeof inst.launchTime, 'number');
        const listed = await h.controller.list();
        assert.deepEqual(
          listed.map((i) => [i.identifier, i.host]),
          [[inst.identifier, inst.host]],
        );
        const d = await h.controller.describe(inst.identifier);
        assert.ok(d);
        assert.equal(d.host, inst.host);
        assert.equal(d.identifier, inst.identifier);
      }));

    it('describe of an unknown identifier is null', () =>
      withHarness(async (h) => {
        assert.equal(await h.controller.describe('node-nowhere-1'), null);
      }));

    it('terminate is idempotent and removes the instance from list and describe', () =>
      withHarness(async (h) => {
        await h.seedCapacity(1);
        const inst = await launch(h, req(h));
        await drive(h, [h.controller.terminate(inst.identifier, 'scale-in')]);
        const again = await drive(h, [h.controller.terminate(inst.identifier, 'scale-in'), h.controller.terminate(inst.identifier, 'failed')]);
        assert.deepEqual(
          again.map((x) => x.status),
          ['fulfilled', 'fulfilled'],
        );
        const unknown = await drive(h, [h.controller.terminate('node-never-launched-1', 'operator')]);
        assert.equal(unknown[0].status, 'fulfilled');
        assert.deepEqual(await h.controller.list(), []);
        assert.equal(await h.controller.describe(inst.identifier), null);
      }));

    it('exhausted capacity rejects with CloudError POOL_EXHAUSTED, not retryable', () =>
      withHarness(async (h) => {
        await assert.rejects(launch(h, req(h)), isExhausted);
        await h.seedCapacity(1);
        await launch(h, req(h));
        await assert.rejects(launch(h, req(h)), isExhausted);
        if (h.controller.available) assert.equal(await h.controller.available(h.controller.zones[0], CONTRACT_INSTANCE_TYPE), 0);
        assert.equal((await h.controller.list()).length, 1);
      }));

    it('scale-in frees capacity for the next launch', () =>
      withHarness(async (h) => {
        await h.seedCapacity(1);
        const a = await launch(h, req(h));
        await drive(h, [h.controller.terminate(a.identifier, 'scale-in')]);
        const b = await launch(h, req(h));
        assert.notEqual(b.identifier, a.identifier);
        assert.deepEqual(
          (await h.controller.list()).map((i) => i.identifier),
          [b.identifier],
        );
      }));

    it('concurrent launches never return the same host', () =>
      withHarness(async (h) => {
        await h.seedCapacity(3);
        const results = await drive(
          h,
          Array.from({ length: 5 }, () => h.controller.launch(req(h))),
        );
        const ok = results.filter((r): r is PromiseFulfilledResult<Instance> => r.status === 'fulfilled').map((r) => r.value);
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
        assert.equal(ok.length, 3);
        assert.equal(new Set(ok.map((i) => i.host)).size, 3, 'each host is handed out once');
        assert.equal(refused.length, 2);
        for (const e of refused) isExhausted(e);
        assert.equal((await h.controller.list()).length, 3);
      }));

    it('launch resolves only after the clock has advanced the operation delay', async (t) => {
      const h = await make();
      try {
        const delay = h.launchDelayMs;
        if (delay === undefined || delay <= 0) return t.skip('controller has no simulated delay');
        await h.seedCapacity(1);
        const s = track(h.controller.launch(req(h)));
        await h.clock.advance(delay - 1);
        assert.equal(s.done, false, 'resolved before the operation delay');
        await h.clock.advance(1);
        assert.equal(s.done, true, 'not resolved once the delay passed');
        assert.equal(s.error, undefined);
      } finally {
        await h.cleanup();
      }
    });

    it('launch into an unknown zone is refused with a non-retryable CloudError', () =>
      withHarness(async (h) => {
        await h.seedCapacity(1);
        await assert.rejects(launch(h, req(h, { zone: 'nowhere-zz9-q' })), (e: unknown) => e instanceof CloudError && !e.retryable);
      }));
  });
}
