import { ClusterView } from '../src/cluster/view.ts';
import type { ClusterNode, LaunchConfig, NodeGroup, Role, ScalePolicy } from '../src/domain/types.ts';
import { createMemory } from '../src/autoscaler/memory.ts';
import { planTick } from '../src/autoscaler/run-once.ts';
import { buildSnapshot, settingsFromConfig } from '../src/autoscaler/snapshot.ts';
import { loadConfig } from '../src/config/load.ts';

/**
 * One planning tick (snapshot + memory observation + health, scale-in and scale-out planners) over
 * 1,000 groups and 10,000 nodes (1 origin + 9 edges each), with loads spread so that every rule has
 * work: some groups scale out, some scale in, some have dead or draining nodes. The actuator is not
 * involved (it only does I/O). Median of several runs, reported in ms and as a fraction of the tick.
 */
const GROUPS = 1000;
const EDGES = 9;
const TICK_MS = 1000;
const RUNS = 15;
const NOW = 1_700_000_000_000;

// The defaults an operator gets (config/schema.ts), with the 1 s tick the bench reports against.
const settings = settingsFromConfig(loadConfig({ overrides: { 'autoscaler.tickInterval': TICK_MS } }));

const policy: ScalePolicy = {
  name: 'sp',
  description: '',
  type: '',
  version: '0.0.2',
  targets: {
    target: [
      { role: 'origin', minLimit: 1, maxLimit: 2, scaleAdjustment: 1, coolDownPeriod: 180_000, estimatedWarmUpTime: 120_000, scaleInWaitTime: 0, scaleOutWaitTime: 0 },
      { role: 'edge', minLimit: 2, maxLimit: 20, scaleAdjustment: 1, coolDownPeriod: 180_000, estimatedWarmUpTime: 120_000, scaleInWaitTime: 0, scaleOutWaitTime: 0 },
    ],
  },
};
const launchConfig: LaunchConfig = {
  name: 'lc',
  description: '',
  image: 'managed',
  version: '0.0.2',
  targets: { target: [{ role: 'origin', instanceType: 'standard', connectionCapacity: 500 }, { role: 'edge', instanceType: 'standard', connectionCapacity: 500 }] },
  properties: { property: [] },
  metadata: { meta: [] },
};

function buildView(): ClusterView {
  const view = new ClusterView();
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let g = 0; g < GROUPS; g++) {
    const name = `group-${g}`;
    const group: NodeGroup = { id: g + 1, name, regions: ['us-test1'], launchConfig: 'lc', scalePolicy: 'sp', state: 'active', baseCapacity: 0, timestamp: NOW };
    view.setGroup(group);
    // A third of the groups hot, a third idle, a third in between.
    const level = g % 3 === 0 ? 0.8 : g % 3 === 1 ? 0.05 : 0.4;
    for (let i = 0; i <= EDGES; i++) {
      const role: Role = i === 0 ? 'origin' : 'edge';
      const address = `10.${(g >> 8) & 255}.${g & 255}.${i + 1}`;
      const dead = g % 50 === 0 && i === 1;
      const draining = g % 20 === 0 && i === 2;
      const n: ClusterNode = {
        id: g * 100 + i,
        identifier: `node-us-test1-a-${g}-${i}`,
        group: name,
        role,
        region: 'us-test1',
        availabilityZone: 'us-test1-a',
        address,
        port: 5080,
        state: draining ? 'draining' : 'inservice',
        launchConfig: 'lc',
        instanceType: 'standard',
        capacity: 500,
        launchTime: NOW - 3_600_000 + i,
        lastReport: dead ? NOW - 60_000 : NOW - 2000,
        lastTrafficTime: NOW,
        reportingSpeed: 10_000,
        connections: { publishers: role === 'origin' ? 3 : 0, subscribers: Math.round(500 * level * (0.8 + 0.4 * rnd())) },
        cpu: null,
        memory: null,
        drainStartedAt: draining ? NOW - 30_000 : null,
        stateReason: draining ? 'scale-in: bench' : null,
        stateUpdated: NOW - 3_600_000,
      };
      view.setNode(n);
      if (role === 'origin') view.setNodeStreams(address, [{ address, scope: 'live', name: `s${g}`, publishers: 1, subscribers: 0, startTime: NOW }]);
    }
  }
  return view;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

export async function runAutoscalerBench(): Promise<{ rows: { name: string; value: number; unit: string; note?: string }[] }> {
  const view = buildView();
  const catalog = { scalePolicy: (n: string) => (n === 'sp' ? policy : null), launchConfig: (n: string) => (n === 'lc' ? launchConfig : null), threshold: () => 60 };
  const cloud = { zones: ['us-test1-a', 'us-test1-b'], regionOfZone: (z: string) => z.slice(0, z.lastIndexOf('-')) };
  const actuator = { inFlight: () => [] };
  const memory = createMemory();
  const deps = { view, catalog, cloud, settings, memory, actuator };

  let items = 0;
  for (let i = 0; i < 3; i++) items = planTick(deps, [], NOW + i).items.length; // warm-up (JIT)
  const tick: number[] = [];
  const snap: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const now = NOW + 10 + i;
    let t0 = performance.now();
    buildSnapshot({ view, catalog, cloud, settings }, now);
    snap.push(performance.now() - t0);
    t0 = performance.now();
    items = planTick(deps, [], now).items.length;
    tick.push(performance.now() - t0);
  }
  const ms = median(tick);
  const note = `${GROUPS} groups, ${GROUPS * (EDGES + 1)} nodes, median of ${RUNS}`;
  return {
    rows: [
      { name: 'planning tick (snapshot + all planners)', value: Number(ms.toFixed(2)), unit: 'ms', note },
      { name: 'planning tick / tick interval', value: Number((ms / TICK_MS).toFixed(4)), unit: `fraction of ${TICK_MS} ms`, note: 'lower is better; 1 would use the whole interval' },
      { name: 'snapshot only', value: Number(median(snap).toFixed(2)), unit: 'ms', note },
      { name: 'plan items per tick', value: items, unit: 'items', note: 'launches, drains, terminations and events decided for the bench cluster' },
    ],
  };
}

// Runnable alone: `npx tsx bench/autoscaler.ts`.
if (import.meta.url === `file://${process.argv[1]}`) {
  runAutoscalerBench().then((r) => console.table(r.rows));
}
