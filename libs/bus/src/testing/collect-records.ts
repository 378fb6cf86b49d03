import { randomUUID } from 'node:crypto';
import type { Bus, BusRecord } from '../types.js';

/**
 * Joins a consumer group of its own on `topic` and returns the array every record of it is pushed to
 * as it arrives (tests then `waitFor` on its length). Collectors never fail a record, so they need no
 * dead-letter twin.
 */
export async function collectRecords(
  bus: Bus,
  topic: string,
  options: { readonly fromBeginning?: boolean } = {},
): Promise<BusRecord[]> {
  const seen: BusRecord[] = [];
  await bus.subscribe({
    groupId: `test-collector-${randomUUID()}`,
    topics: [topic],
    ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
    handler: async (record) => void seen.push(record),
    deadLetter: { encode: async () => Buffer.alloc(0) },
  });
  return seen;
}
