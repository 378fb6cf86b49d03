import type { Bus, BusRecord } from '@chatmesh/bus';

/** Suffix of the marker topic that remembers which offsets of a twin were replayed (`chat.events.dlq.replayed`). */
export const REPLAYED_SUFFIX = '.replayed';

/** What the tool remembers about one replayed dead letter (the marker record's value, JSON). */
export interface ReplayMarker {
  readonly twin: string;
  readonly partition: number;
  readonly offset: string;
  readonly replayedAtMs: number;
  /** Where the original value was re-produced. */
  readonly to: { readonly topic: string; readonly partition: number; readonly offset: string };
}

/** The marker topic of a twin. */
export function markerTopicOf(twin: string): string {
  return `${twin}${REPLAYED_SUFFIX}`;
}

/**
 * Creates a twin's marker topic if needed: compacted (the key is the twin position, so a marker is
 * kept as long as the topic), one partition, no twin of its own (nothing consumes it with a handler).
 */
export async function ensureMarkerTopic(bus: Bus, twin: string): Promise<void> {
  await bus.admin.createTopics([
    { name: markerTopicOf(twin), partitions: 1, cleanupPolicy: 'compact', deadLetter: false },
  ]);
}

/** Appends the marker of one replay; resolves once durable (acks=all on Kafka). */
export async function writeMarker(bus: Bus, key: string, marker: ReplayMarker): Promise<void> {
  await bus.producer.send(markerTopicOf(marker.twin), [
    { key, value: Buffer.from(JSON.stringify(marker), 'utf8'), headers: { 'content-type': 'application/json' } },
  ]);
}

/** The marker topics of `twins` that exist, and a parser of their records (null for anything unreadable). */
export function readReplayMarkers(
  twins: readonly string[],
  existing: ReadonlySet<string>,
): { markerTopics: string[]; parse: (record: BusRecord) => ReplayMarker | null } {
  return {
    markerTopics: twins.map(markerTopicOf).filter((topic) => existing.has(topic)),
    parse: (record) => {
      if (record.value === null) return null;
      try {
        const marker = JSON.parse(record.value.toString('utf8')) as ReplayMarker;
        return typeof marker.twin === 'string' && typeof marker.offset === 'string' ? marker : null;
      } catch {
        return null;
      }
    },
  };
}
