import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The launcher's directory, where `src/*-main.ts` are resolved. */
export const LAUNCHER_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** A spawned launcher with its output collected. */
export interface LauncherProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
}

/** Spawns `node --import tsx <script>` with exactly `env` added to a minimal environment. */
export function spawnLauncher(
  script: string,
  env: Record<string, string>,
  options: { ownProcessGroup?: boolean } = {},
): LauncherProcess {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: LAUNCHER_DIR,
    // A clean environment: the test must not inherit the developer's CHATMESH_* or endpoints.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own group lets a test send SIGINT to the whole group, as a terminal's Ctrl-C does.
    detached: options.ownProcessGroup ?? false,
  });
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves `promise`, or rejects after `timeoutMs` with what the launcher printed so far. */
export async function within<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  proc?: LauncherProcess,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}\nstdout: ${proc?.stdout()}\nstderr: ${proc?.stderr()}`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` returns a value (not undefined), or rejects after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  proc?: LauncherProcess,
): Promise<T> {
  const poll = async (): Promise<T> => {
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return within(poll(), timeoutMs, what, proc);
}
