/**
 * Where the time went in a `.cpuprofile` (from `--cpu-prof-dir`): self time by function and by package.
 *
 *   node --import tsx load-tests/tools/cpu-profile-top.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
}

/** The package a script belongs to: `libs/x`, `services/x`, `node_modules/x`, `node:internal`... */
function packageOf(url: string): string {
  if (url === '') return '(native / idle / gc)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return `npm:${modules[1]}`;
  const workspace = /\/(libs|services|deploy|load-tests)\/([^/]+)/.exec(url);
  if (workspace) return `${workspace[1]}/${workspace[2]}`;
  if (url.startsWith('node:')) return 'node (core)';
  return url;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: cpu-profile-top.ts <file.cpuprofile> [--top N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const totalUs = profile.endTime - profile.startTime;
const sampleUs = totalUs / Math.max(1, profile.samples.length);
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^file:\/\/.*?\/(libs|services|load-tests|deploy|node_modules)\//, '$1/');
  const key = `${functionName || '(anonymous)'}  ${short}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + count);
  byPackage.set(packageOf(url), (byPackage.get(packageOf(url)) ?? 0) + count);
}
const top = Number(values.top);
const pct = (count: number): string => `${((100 * count) / profile.samples.length).toFixed(1).padStart(5)}%`;
process.stdout.write(
  `${file}: ${(totalUs / 1e6).toFixed(1)} s, ${profile.samples.length} samples of ${sampleUs.toFixed(0)} us\n\nself time by package:\n`,
);
for (const [name, count] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${pct(count)}  ${name}\n`);
process.stdout.write('\nself time by function:\n');
for (const [name, count] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${pct(count)}  ${name}\n`);
