/** Freezes an object and everything reachable from it, so no consumer can change the config at run time. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<string | symbol, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
