/**
 * Preloaded (`--import`) into the gateway process the density benchmark measures, with `--expose-gc`:
 * SIGUSR2 runs a full garbage collection, so each memory sample reads live data rather than wherever
 * the collector happened to be. With `CHATMESH_BENCH_HEAP_SNAPSHOT_DIR` set, SIGWINCH also writes a heap
 * snapshot there (`<n>.heapsnapshot`, then an empty `<n>.done` once it is complete), for
 * `heap-diff.ts`. Nothing else in the process changes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => collect?.());

const snapshotDir = process.env['CHATMESH_BENCH_HEAP_SNAPSHOT_DIR'];
if (snapshotDir) {
  let taken = 0;
  process.on('SIGWINCH', () => {
    const name = String(taken++);
    collect?.();
    writeHeapSnapshot(join(snapshotDir, `${name}.heapsnapshot`));
    writeFileSync(join(snapshotDir, `${name}.done`), '');
  });
}
