import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MachineInfo } from '../src/index.js';

/** A least-squares line `y = intercept + slope × x`. */
export interface LinearFit {
  readonly slope: number;
  readonly intercept: number;
  /** Coefficient of determination (1 = every point on the line; NaN with fewer than 2 distinct x). */
  readonly r2: number;
}

/** Fits a line through `points` by ordinary least squares; NaN fields when fewer than two distinct x. */
export function fitLine(points: ReadonlyArray<{ x: number; y: number }>): LinearFit {
  const n = points.length;
  const meanX = points.reduce((s, p) => s + p.x, 0) / n;
  const meanY = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const { x, y } of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
    syy += (y - meanY) ** 2;
  }
  if (n < 2 || sxx === 0) return { slope: Number.NaN, intercept: Number.NaN, r2: Number.NaN };
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** Rows of label/value as an aligned two-column text table. */
export function renderTwoColumns(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** The machine as one table row. */
export function machineRows(machine: MachineInfo, loadAverageAtEnd: readonly number[]): Array<[string, string]> {
  return [
    [
      'machine',
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.os}`,
    ],
    ['load average', `${machine.loadAverage.join(' ')} at start, ${loadAverageAtEnd.join(' ')} at end`],
  ];
}

/** Writes `result` as `<resultsDir>/<YYYY-MM-DD>-<name>.json` and returns the path. */
export async function writeResult(
  resultsDir: string,
  startedAt: string,
  name: string,
  result: unknown,
): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const path = join(resultsDir, `${startedAt.slice(0, 10)}-${name}.json`);
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** Bytes as KiB/MiB text. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  if (Math.abs(bytes) >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(2)} KiB`;
}
