import { randomBytes } from 'node:crypto';

/**
 * A unique name for a test's own resource: `<prefix>-<12 hex chars>`, such as `test-chat-events-3f9a0c1b2d4e`.
 * Valid as a Kafka topic or group id and a Redis key prefix; use {@link randomKeyspaceName} for Cassandra.
 * @default prefix 'test'
 */
export function randomName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/**
 * A unique Cassandra keyspace name: lower case, `[a-z0-9_]` only, at most 48 characters (Cassandra's limit).
 * @default prefix 'test'
 */
export function randomKeyspaceName(prefix = 'test'): string {
  const cleanPrefix = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 35);
  return `${cleanPrefix}_${randomBytes(6).toString('hex')}`;
}
