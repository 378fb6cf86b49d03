import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { InfraError } from '../errors.js';
import { isProcessRunning } from './process.js';

/**
 * Runs `work` holding an exclusive lock file, so two `up`/`down` calls on one state dir (two test
 * runs, a CLI and a test) never start the same server twice. A lock whose holder died is taken over.
 * @throws InfraError CM_ERR_INFRA_LOCKED after `timeoutMs`.
 */
export async function withLockFile<T>(path: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = readSafely(path);
    const holder = Number(text);
    const halfWritten = !(Number.isInteger(holder) && holder > 0);
    // A file without a pid may be one a live process is writing this instant: only break it once old.
    if (halfWritten ? ageMs(path) > 5_000 : !isProcessRunning(holder)) {
      // Break the lock of a dead holder. Two processes may both see it stale; the `wx` create above
      // then lets only one of them win.
      if (readSafely(path) === text) rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new InfraError('CM_ERR_INFRA_LOCKED', `The infra state lock ${path} is held by pid ${holder}`, {
        context: { path, holder },
      });
    }
    await sleep(200);
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}

function readSafely(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
