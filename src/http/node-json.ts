import type { ClusterNode, NodeGroup } from '../domain/types.ts';

/** Classic node JSON (G7/N1): `group` only on single-node reads. */
export function nodeJson(n: ClusterNode, withGroup = false) {
  return {
    identifier: n.identifier,
    role: n.role,
    availabilityZone: n.availabilityZone,
    address: n.address,
    state: n.state,
    launchConfig: n.launchConfig,
    capacity: n.capacity,
    ...(withGroup ? { group: n.group } : {}),
  };
}

/** Classic group JSON (G3/G4). */
export function groupJson(g: NodeGroup) {
  return {
    id: g.id,
    name: g.name,
    originConnections: 0,
    regions: g.regions,
    launchConfig: g.launchConfig,
    scalePolicy: g.scalePolicy,
    state: g.state,
    timestamp: g.timestamp,
    ...(g.baseCapacity ? { baseCapacity: g.baseCapacity } : {}),
  };
}

/** Node as it appears in relations (G12). */
export function relationNodeJson(n: ClusterNode) {
  return {
    address: n.address,
    state: n.state,
    role: n.role,
    availabilityZone: n.availabilityZone,
    identifier: n.identifier,
    launchTime: n.launchTime,
  };
}
