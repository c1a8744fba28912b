import type { ClusterNode } from '../../src/domain/types.ts';

/**
 * An in-service edge of group `g1` (us-test1-a, capacity 100, idle) that last reported at `reportedAt`,
 * launched a minute before. Tests and benchmarks override what they are about.
 */
export function makeNode(address: string, reportedAt: number, over: Partial<ClusterNode> = {}): ClusterNode {
  return {
    id: 0,
    identifier: `node-${address}`,
    group: 'g1',
    role: 'edge',
    region: 'us-test1',
    availabilityZone: 'us-test1-a',
    address,
    port: 5080,
    state: 'inservice',
    launchConfig: 'lc',
    instanceType: 'standard',
    capacity: 100,
    launchTime: reportedAt - 60_000,
    lastReport: reportedAt,
    lastTrafficTime: reportedAt,
    reportingSpeed: 10_000,
    connections: { publishers: 0, subscribers: 0 },
    cpu: null,
    memory: null,
    drainStartedAt: null,
    stateReason: null,
    stateUpdated: reportedAt - 60_000,
    ...over,
  };
}
