/**
 * Freezes an object and everything reachable from it, in place, and returns it. Already-frozen
 * objects are left alone (not walked again), which also keeps shared or cyclic references finite.
 */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
