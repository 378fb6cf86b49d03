import type avro from 'avsc';

/** Confluent's compatibility levels. */
export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;

/** One of {@link COMPATIBILITY_LEVELS}. */
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

/** The level of subjects without their own, as in Confluent's registry. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

/** True when `value` is a level name (case-sensitive, as Confluent's). */
export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/**
 * Why `candidate` may not follow `previous` (oldest first) under `level`; empty when it may.
 * BACKWARD: the new schema reads data of the latest; FORWARD: the latest reads data of the new one;
 * FULL: both; *_TRANSITIVE: against every earlier version, not only the latest. Uses Avro schema
 * resolution as avsc implements it (`createResolver`).
 */
export function findIncompatibilities(
  level: CompatibilityLevel,
  candidate: avro.Type,
  previous: readonly avro.Type[],
): string[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const problems: string[] = [];
  against.forEach((old) => {
    const version = previous.indexOf(old) + 1;
    if (backward) {
      const reason = resolveError(candidate, old);
      if (reason !== undefined) problems.push(`new schema cannot read version ${version}: ${reason}`);
    }
    if (forward) {
      const reason = resolveError(old, candidate);
      if (reason !== undefined) problems.push(`version ${version} cannot read the new schema: ${reason}`);
    }
  });
  return problems;
}

function resolveError(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
