/** Groups the nodes of a V8 heap snapshot by what they are, and diffs two groupings (`heap-diff.ts`). */

/** The parts of a `.heapsnapshot` file read here. */
export interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** One group of heap nodes: how many and their shallow size. */
export interface Group {
  count: number;
  bytes: number;
}

/** The key a heap node is counted under: its type and, where it tells something, its name. */
export function groupKey(type: string, name: string): string {
  switch (type) {
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return `(${type})`;
    case 'number':
      return '(heap number)';
    case 'code':
      return '(code)';
    case 'closure':
      return `closure ${name || '(anonymous)'}`;
    case 'regexp':
      return '(regexp)';
    default:
      return `${type} ${name}`;
  }
}

/** Shallow sizes of a snapshot's nodes, grouped by {@link groupKey}. */
export function groupSnapshot(snapshot: Snapshot): Map<string, Group> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const key = groupKey(types[nodes[i + typeAt]!] ?? '?', strings[nodes[i + nameAt]!] ?? '');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { count: 0, bytes: 0 }));
    group.count++;
    group.bytes += nodes[i + sizeAt]!;
  }
  return groups;
}

/** after − before per group, largest byte growth first. */
export function diffGroups(
  before: Map<string, Group>,
  after: Map<string, Group>,
): Array<{ key: string; count: number; bytes: number }> {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys]
    .map((key) => ({
      key,
      count: (after.get(key)?.count ?? 0) - (before.get(key)?.count ?? 0),
      bytes: (after.get(key)?.bytes ?? 0) - (before.get(key)?.bytes ?? 0),
    }))
    .sort((a, b) => b.bytes - a.bytes);
}
