import { z } from 'zod';
import { lenientInt } from './launch-config.ts';

/**
 * Node counts of a "smart" node group (G2 create, G5 resize: reference §2.1) from the publisher and
 * subscriber ranges an operator asks for. The classic formula is not public; this one is ours. Pure.
 *
 * - Origins carry the publishers. A node's load counts every connection against its launch-config
 *   capacity, so `ceil(publishers / originCapacity)` origins hold that many publishers:
 *     origin minLimit = max(1, ceil(minPublishers / originCapacity))   (a group always needs an origin)
 *     origin maxLimit = max(minLimit, ceil(maxPublishers / originCapacity))
 * - Edges carry the subscribers. The autoscaler adds an edge once the edge load passes the edge scale-out
 *   threshold (percent), so planning edges full to their capacity would keep the group in alarm at its
 *   planned size. An edge is therefore counted for `edgeCapacity × threshold / 100` subscribers only
 *   (computed as `ceil(subscribers × 100 / (edgeCapacity × threshold))`, exact integer arithmetic):
 *     edge minLimit = ceil(minSubscribers / usable)
 *     edge maxLimit = max(minLimit, ceil(maxSubscribers / usable))
 *   and, when maxSubscribers > 0, at least one edge for both limits: with no edge the broker sends
 *   subscribers to the origins and the edge alarm (which measures edges) could never bring one up.
 *   maxSubscribers = 0 gives 0..0 edges (an origin-only group).
 */

/** Inputs are bounded so `subscribers × 100` stays an exact integer. */
export const SIZING_INPUT_MAX = 1_000_000_000;

export interface SizingInfo {
  minPublishers: number;
  maxPublishers: number;
  minSubscribers: number;
  maxSubscribers: number;
}

export interface SizingCapacities {
  /** Connections one origin takes (launch config). */
  originCapacity: number;
  /** Connections one edge takes (launch config). */
  edgeCapacity: number;
  /** Edge scale-out threshold, percent (1..100). */
  edgeThreshold: number;
}

export interface Limits {
  minLimit: number;
  maxLimit: number;
}

export interface GroupSize {
  origin: Limits;
  edge: Limits;
  /** Subscribers one edge is planned for (edgeCapacity × threshold / 100), for messages and descriptions. */
  usableEdgeCapacity: number;
}

/** ceil(a / b) for non-negative integers, without going through a rounded quotient. */
function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

export function sizeGroupRegion(info: SizingInfo, caps: SizingCapacities): GroupSize {
  const { originCapacity, edgeCapacity, edgeThreshold } = caps;
  if (!(originCapacity >= 1) || !(edgeCapacity >= 1)) throw new RangeError('capacities must be at least 1');
  if (!(edgeThreshold >= 1 && edgeThreshold <= 100)) throw new RangeError('edge threshold must be 1..100');
  const originMin = Math.max(1, ceilDiv(info.minPublishers, originCapacity));
  const originMax = Math.max(originMin, ceilDiv(info.maxPublishers, originCapacity));
  // subscribers / (capacity × threshold / 100) = subscribers × 100 / (capacity × threshold)
  const unit = edgeCapacity * edgeThreshold;
  const floor = info.maxSubscribers > 0 ? 1 : 0;
  const edgeMin = Math.max(floor, ceilDiv(info.minSubscribers * 100, unit));
  const edgeMax = Math.max(edgeMin, ceilDiv(info.maxSubscribers * 100, unit));
  return {
    origin: { minLimit: originMin, maxLimit: originMax },
    edge: { minLimit: edgeMin, maxLimit: edgeMax },
    usableEdgeCapacity: unit / 100,
  };
}

/** `region[].info` of G2/G5: four counts, numbers or numeric strings, each max ≥ its min. */
export const sizingInfoSchema = z
  .object(
    {
      minPublishers: lenientInt({ min: 0, max: SIZING_INPUT_MAX }),
      maxPublishers: lenientInt({ min: 0, max: SIZING_INPUT_MAX }),
      minSubscribers: lenientInt({ min: 0, max: SIZING_INPUT_MAX }),
      maxSubscribers: lenientInt({ min: 0, max: SIZING_INPUT_MAX }),
    },
    { required_error: 'is required: {minPublishers, maxPublishers, minSubscribers, maxSubscribers}', invalid_type_error: 'must be an object' },
  )
  .superRefine((i, ctx) => {
    // Fields that failed are already reported (zod still runs this); compare only the sound pairs.
    const sound = (n: unknown): n is number => typeof n === 'number';
    if (sound(i.minPublishers) && sound(i.maxPublishers) && i.maxPublishers < i.minPublishers) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxPublishers'], message: `must be ≥ minPublishers (${i.maxPublishers} < ${i.minPublishers})` });
    }
    if (sound(i.minSubscribers) && sound(i.maxSubscribers) && i.maxSubscribers < i.minSubscribers) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxSubscribers'], message: `must be ≥ minSubscribers (${i.maxSubscribers} < ${i.minSubscribers})` });
    }
  });
