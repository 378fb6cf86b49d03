/**
 * Where a message's time goes in stack mode, per hop: each service's `chatmesh_bus_record_delay_seconds` (from a
 * record's production to the start of its handler: fetch wait, queueing behind the key, transaction visibility)
 * and `chatmesh_bus_handler_duration_seconds` (the handler's own work, mostly store round trips), as means over
 * the offered load (snapshots of the histograms' sums and counts before and after, subtracted).
 */

/** Per `group topic`: summed seconds and counts of both histograms. */
export type HopSnapshot = Map<
  string,
  { delaySum: number; delayCount: number; handlerSum: number; handlerCount: number }
>;

const SAMPLE = /^chatmesh_bus_(record_delay|handler_duration)_seconds_(sum|count)\{([^}]*)\} (\S+)$/;

/** Reads the histograms from each service's `/metrics`; a service that does not answer is left out. */
export async function readHopSnapshot(opsUrls: readonly string[]): Promise<HopSnapshot> {
  const snapshot: HopSnapshot = new Map();
  for (const url of opsUrls) {
    let text: string;
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
      text = await response.text();
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const match = SAMPLE.exec(line);
      if (!match) continue;
      const [, metric, part, labels, value] = match;
      const group = /group="([^"]*)"/.exec(labels!)?.[1] ?? '';
      const topic = /topic="([^"]*)"/.exec(labels!)?.[1] ?? '';
      const key = `${group} ${topic}`;
      const entry = snapshot.get(key) ?? { delaySum: 0, delayCount: 0, handlerSum: 0, handlerCount: 0 };
      const field = `${metric === 'record_delay' ? 'delay' : 'handler'}${part === 'sum' ? 'Sum' : 'Count'}` as const;
      // The handler histogram has an outcome label: its series add up.
      entry[field] += Number(value);
      snapshot.set(key, entry);
    }
  }
  return snapshot;
}

export interface HopTime {
  readonly group: string;
  readonly topic: string;
  readonly records: number;
  readonly meanDelayMs: number;
  readonly meanHandlerMs: number;
}

/** The mean delay and handler time of each hop between two snapshots (hops with no records left out). */
export function hopTimes(before: HopSnapshot, after: HopSnapshot, namespace: string): HopTime[] {
  const strip = (name: string): string => (name.startsWith(`${namespace}.`) ? name.slice(namespace.length + 1) : name);
  const hops: HopTime[] = [];
  for (const [key, now] of after) {
    const then = before.get(key) ?? { delaySum: 0, delayCount: 0, handlerSum: 0, handlerCount: 0 };
    const records = now.delayCount - then.delayCount;
    const handled = now.handlerCount - then.handlerCount;
    if (records <= 0) continue;
    const [group, topic] = key.split(' ') as [string, string];
    hops.push({
      group: strip(group),
      topic: strip(topic),
      records,
      meanDelayMs: Math.round(((now.delaySum - then.delaySum) / records) * 10_000) / 10,
      meanHandlerMs: handled > 0 ? Math.round(((now.handlerSum - then.handlerSum) / handled) * 10_000) / 10 : 0,
    });
  }
  return hops.sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic));
}
