import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChatmeshError } from '@chatmesh/errors';
import { waitFor } from '@chatmesh/testing';

/** The repository root (tests/system/src is three levels down). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Children still running: killed when this process exits, or is told to stop (a test runner's timeout, a
 * Ctrl-C), so an interrupted test leaves no orphan. An orphan would keep consuming the fixed consumer groups
 * on the broker and answer the next run's records from its own keyspace.
 */
const LIVE = new Set<ChildProcess>();
const killLive = (): void => {
  for (const child of LIVE) child.kill('SIGKILL');
};
process.once('exit', killLive);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killLive();
    process.exit(128 + (signal === 'SIGHUP' ? 1 : signal === 'SIGINT' ? 2 : 15));
  });
}

/**
 * One service running as its own process, exactly as stack mode runs it: `node --import tsx <main.ts>`.
 * Its stdout and stderr (pino JSON lines) go to `logPath`; its ops URL is taken from the
 * "ops server listening" line it logs.
 */
export class ServiceProcess {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #log: WriteStream;
  #url: string | null = null;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  private constructor(name: string, child: ChildProcess, log: WriteStream) {
    this.name = name;
    this.#child = child;
    this.#log = log;
    LIVE.add(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        LIVE.delete(child);
        this.#exit = { code, signal };
        resolve({ code, signal });
      });
    });
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (this.#url === null && line.includes('ops server listening')) {
          try {
            const url = (JSON.parse(line) as { url?: unknown }).url;
            if (typeof url === 'string') this.#url = url;
          } catch {
            // not a JSON line: keep looking
          }
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  }

  /** Spawns `node --import tsx <mainPath>` (relative to the repository root) with `env` added to this process's. */
  static spawn(name: string, mainPath: string, env: Record<string, string>, logPath: string): ServiceProcess {
    const log = createWriteStream(logPath, { flags: 'a' });
    log.write(`\n=== ${new Date().toISOString()} spawn ${name} ===\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', mainPath], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(name, child, log);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Waits until the process logged its ops URL and `/ready` answers 200. */
  async waitReady(timeoutMs: number): Promise<string> {
    return waitFor(
      async () => {
        if (this.#exit) {
          throw new ChatmeshError(
            'CM_ERR_COMMON_INTERNAL',
            `${this.name} exited (code ${this.#exit.code}, signal ${this.#exit.signal}) before it was ready`,
          );
        }
        if (this.#url === null) return false;
        const response = await fetch(`${this.#url}/ready`);
        return response.status === 200 ? this.#url : false;
      },
      { description: `${this.name} /ready`, timeoutMs, intervalMs: 200 },
    );
  }

  /** The service's health report (its counters), from `/ready`. */
  async details(): Promise<Record<string, unknown>> {
    if (this.#url === null) return {};
    const response = await fetch(`${this.#url}/ready`);
    const body = (await response.json()) as { services?: Record<string, { details?: Record<string, unknown> }> };
    return body.services?.[this.name]?.details ?? {};
  }

  /** SIGKILL: the process dies at once, whatever it was doing. */
  async kill(): Promise<void> {
    if (this.#exit === null) this.#child.kill('SIGKILL');
    await this.#exited;
    this.#log.end();
  }

  /** SIGTERM and wait for the graceful exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.#exit === null) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
      this.#log.end();
    }
  }
}
