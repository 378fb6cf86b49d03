import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where a device keeps its end-to-end state (identity key pair, prekeys, sessions, trusted identities): opaque
 * values under string keys. Private keys live here, so a real app puts it in the platform's protected storage.
 */
export interface E2EStorage {
  get(key: string): Promise<Uint8Array | null>;
  set(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

/** An {@link E2EStorage} in memory: tests and short-lived tools (everything is lost on exit). */
export function createMemoryE2EStorage(): E2EStorage {
  const values = new Map<string, Uint8Array>();
  return {
    async get(key) {
      return values.get(key) ?? null;
    },
    async set(key, value) {
      values.set(key, Uint8Array.from(value));
    },
    async delete(key) {
      values.delete(key);
    },
  };
}

/**
 * An {@link E2EStorage} in a folder (Node): one file per key, written to a temporary name and renamed, so a crash
 * never leaves half a session behind. The folder is created with mode 0700 and the files with 0600.
 */
export function createFileE2EStorage(dir: string): E2EStorage {
  const fileOf = (key: string): string => join(dir, `${Buffer.from(key, 'utf8').toString('base64url')}.bin`);
  let ready: Promise<unknown> | null = null;
  const ensureDir = (): Promise<unknown> => (ready ??= mkdir(dir, { recursive: true, mode: 0o700 }));
  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(fileOf(key)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async set(key, value) {
      await ensureDir();
      const file = fileOf(key);
      const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(temporary, value, { mode: 0o600 });
      await rename(temporary, file);
    },
    async delete(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}
