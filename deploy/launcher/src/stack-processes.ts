import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { ServiceName } from '@chatmesh/config';

/** One spawned service process. */
export interface StackProcess {
  readonly service: ServiceName;
  readonly port: number;
  readonly url: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/** Options of {@link spawnServiceProcess}. */
export interface SpawnServiceOptions {
  readonly service: ServiceName;
  /** Repository root: the command runs there and `services/<name>/src/main.ts` is resolved from it. */
  readonly rootDir: string;
  readonly port: number;
  /** Host the ops server binds to (from config). */
  readonly host: string;
  readonly logDir: string;
  /** The environment to pass on (the launcher's own, with the servers' endpoints). */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Spawns `node --import tsx services/<name>/src/main.ts` with its own ops port, appending its
 * stdout and stderr to `<logDir>/<name>.log`.
 *
 * The child runs in its own process group (`detached`): a Ctrl-C in the terminal signals the whole
 * foreground group, and a child that got the terminal's SIGINT and then the launcher's SIGTERM would
 * take the second signal as "force exit now". So only the launcher signals its children, once each.
 * The launcher also sends SIGTERM from its `exit` handler; only a SIGKILL of the launcher leaves them running.
 */
export function spawnServiceProcess(options: SpawnServiceOptions): StackProcess {
  const logDir = isAbsolute(options.logDir) ? options.logDir : join(options.rootDir, options.logDir);
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.service}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join('services', options.service, 'src', 'main.ts')], {
    cwd: options.rootDir,
    env: {
      ...options.env,
      CHATMESH_MODE: 'stack',
      CHATMESH_HTTP_PORT: String(options.port),
      CHATMESH_HTTP_HOST: options.host,
    },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  // The child holds its own copy of the descriptor.
  closeSync(fd);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn-error'));
  });
  const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    service: options.service,
    port: options.port,
    url: `http://${host}:${options.port}`,
    logFile,
    child,
    exited,
  };
}

/**
 * Stops every process: SIGTERM to all at once (each drains in parallel), then SIGKILL to any that
 * has not exited after `timeoutMs`.
 * @returns each service's exit code or signal
 */
export async function stopServiceProcesses(
  processes: readonly StackProcess[],
  timeoutMs: number,
): Promise<Record<string, number | string>> {
  for (const proc of processes)
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const proc of processes)
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const codes = await Promise.all(processes.map((proc) => proc.exited));
    return Object.fromEntries(processes.map((proc, index) => [proc.service, codes[index] ?? 'unknown']));
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `GET <url>/ready` until it answers 200 or the process exits; resolves true when ready. */
export async function waitForReady(proc: StackProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (!exited && Date.now() < deadline) {
    try {
      const response = await fetch(`${proc.url}/ready`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
