/**
 * Diffs two V8 heap snapshots by what the objects are (node type and constructor, function or string
 * kind) and prints the growth per connection: where the bytes of one more connection go.
 *
 * `node --import tsx load-tests/gateway/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [--per N] [--top N]`
 *
 * `--per` divides the growth (the connections added between the two snapshots; default 1). Snapshots
 * come from `bench:gateway-density -- --heap-snapshots DIR` (one at the baseline and one at each count).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { diffGroups, groupSnapshot, type Snapshot } from './heap-groups.js';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '30' } },
  });
  if (positionals.length !== 2) {
    process.stderr.write('usage: heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [--per N] [--top N]\n');
    process.exit(2);
  }
  const per = Number(values.per);
  const [before, after] = await Promise.all(
    positionals.map(async (path) => groupSnapshot(JSON.parse(await readFile(path, 'utf8')) as Snapshot)),
  );
  const diff = diffGroups(before!, after!);
  const total = diff.reduce((sum, row) => sum + row.bytes, 0);
  const lines = [['bytes/conn', 'objects/conn', 'what']];
  for (const row of diff.slice(0, Number(values.top))) {
    lines.push([(row.bytes / per).toFixed(1), (row.count / per).toFixed(2), row.key]);
  }
  lines.push([(total / per).toFixed(1), '', 'total (all groups)']);
  const widths = [0, 1].map((c) => Math.max(...lines.map((line) => line[c]!.length)));
  process.stdout.write(
    `${lines.map((line) => `${line[0]!.padStart(widths[0]!)}  ${line[1]!.padStart(widths[1]!)}  ${line[2]}`).join('\n')}\n`,
  );
}

await main();
