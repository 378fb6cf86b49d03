import type { Bus } from '@chatmesh/bus';
import { deadLetterTwinOf, type SchemaCodec, type TopicDefinition } from '@chatmesh/schemas';

/**
 * Makes sure `definitions` (rows of the topic table) and their dead-letter twins exist, and
 * registers their value subjects with the codec, so that nothing on the hot path waits for the
 * registry and no record can fail for a missing twin. Idempotent: existing topics are left as they are.
 * @returns the names of every topic ensured (twins included)
 */
export async function ensureTopics(
  bus: Bus,
  codec: SchemaCodec,
  definitions: readonly TopicDefinition[],
): Promise<string[]> {
  const all = [
    ...definitions,
    ...definitions.filter((definition) => definition.deadLetterTopic !== null).map(deadLetterTwinOf),
  ];
  const unique = [...new Map(all.map((definition) => [definition.name, definition])).values()];
  await bus.admin.createTopics(
    unique.map((definition) => ({
      name: definition.name,
      partitions: definition.partitions,
      cleanupPolicy: definition.cleanupPolicy,
      // The twins are in the list with the table's own settings (one partition, 30 days), so the bus must not add its own.
      deadLetter: false,
      ...(definition.retentionMs === undefined ? {} : { retentionMs: definition.retentionMs }),
    })),
  );
  await codec.prepare(unique.map((definition) => definition.valueSubject));
  return unique.map((definition) => definition.name);
}
