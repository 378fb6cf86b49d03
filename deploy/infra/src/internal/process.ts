import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { InfraError, type InfraErrorComponent } from '../errors.js';

/** What a pid file holds: enough to prove, later, that the pid is still the process we started. */
export interface PidRecord {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); null where /proc is absent. */
  readonly startTicks: number | null;
  readonly startedAtMs: number;
  readonly command: readonly string[];
}

/** How to spawn one server. */
export interface DaemonSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logFile: string;
}

/**
 * Spawns a server detached in its own process group with stdout and stderr appended to its log,
 * so it outlives the CLI that started it and `down` can signal the whole group.
 */
export function spawnDaemon(spec: DaemonSpec): { record: PidRecord; exited: Promise<number | null> } {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  // One log per run (the previous one kept as .1): a log read after start describes this process only.
  if (existsSync(spec.logFile)) renameSync(spec.logFile, `${spec.logFile}.1`);
  const logFd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env as NodeJS.ProcessEnv,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    const exited = new Promise<number | null>((resolvePromise) => {
      child.once('exit', (code, signal) => resolvePromise(code ?? (signal === null ? null : -1)));
      child.once('error', () => resolvePromise(-1));
    });
    child.unref();
    if (child.pid === undefined) {
      return { record: { pid: -1, startTicks: null, startedAtMs: Date.now(), command: [] }, exited };
    }
    const record: PidRecord = {
      pid: child.pid,
      startTicks: readStartTicks(child.pid),
      startedAtMs: Date.now(),
      command: [spec.command, ...spec.args],
    };
    return { record, exited };
  } finally {
    closeSync(logFd);
  }
}

/** The process's start time in clock ticks since boot, or null when /proc cannot tell. */
export function readStartTicks(pid: number): number | null {
  const stat = readProcStat(pid);
  if (stat === undefined) return null;
  const value = Number(stat[19]);
  return Number.isFinite(value) ? value : null;
}

/** Fields of /proc/<pid>/stat after the command name (index 0 is the state letter, field 3 in proc(5)). */
function readProcStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces or parentheses.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a running process. A zombie counts as dead: when the parent that should reap it
 * is gone or does not reap (a container's init often does not), `kill(pid, 0)` still succeeds.
 */
export function isProcessRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readProcStat(pid);
  if (stat === undefined) return existsSync('/proc') === false;
  if (stat[0] !== 'Z' && stat[0] !== 'X') return true;
  // A multi-threaded process (a JVM) whose main thread is gone shows as Z while its other threads are
  // still exiting and its sockets still open: it is dead only once the leader is the last thread left.
  return readThreadCount(pid) > 1;
}

function readThreadCount(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Whether the process a pid file describes still runs, and is the same process (not a reused pid). */
export function isRecordAlive(record: PidRecord): boolean {
  if (!isProcessRunning(record.pid)) return false;
  return record.startTicks === null || readStartTicks(record.pid) === record.startTicks;
}

/** Reads a pid file; a missing or unreadable file reads as undefined. */
export function readPidFile(path: string): PidRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<PidRecord>;
    if (typeof parsed.pid !== 'number') return undefined;
    return {
      pid: parsed.pid,
      startTicks: typeof parsed.startTicks === 'number' ? parsed.startTicks : null,
      startedAtMs: typeof parsed.startedAtMs === 'number' ? parsed.startedAtMs : 0,
      command: Array.isArray(parsed.command) ? parsed.command : [],
    };
  } catch {
    return undefined;
  }
}

/** Writes a pid file atomically (write then rename), so a reader never sees half of it. */
export function writePidFile(path: string, record: PidRecord): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record)}\n`);
  renameSync(temporary, path);
}

/** Deletes a pid file if it is there. */
export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}

/** Options of {@link stopProcess}. */
export interface StopProcessOptions {
  /** How long SIGTERM may take before SIGKILL. */
  graceMs: number;
  /** How long to wait for the exit after SIGKILL. @default 10000 */
  killWaitMs?: number;
  component?: InfraErrorComponent;
}

/**
 * Stops a process (and its process group): SIGTERM, wait up to `graceMs`, then SIGKILL.
 * @returns how it ended: `exited` after SIGTERM, `killed` after SIGKILL, `gone` if it was not running.
 * @throws InfraError CM_ERR_INFRA_STOP_FAILED when it survives SIGKILL.
 */
export async function stopProcess(pid: number, options: StopProcessOptions): Promise<'exited' | 'killed' | 'gone'> {
  if (!isProcessRunning(pid)) return 'gone';
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, options.graceMs)) return 'exited';
  signal(pid, 'SIGKILL');
  if (await waitForExit(pid, options.killWaitMs ?? 10_000)) return 'killed';
  throw new InfraError('CM_ERR_INFRA_STOP_FAILED', `Process ${pid} is still running after SIGKILL`, {
    component: options.component,
    context: { pid },
  });
}

function signal(pid: number, name: NodeJS.Signals): void {
  // The servers are group leaders (spawned detached); signalling the group also reaches any helper they forked.
  try {
    process.kill(-pid, name);
    return;
  } catch {
    // Not a group leader (for example a pid file from another tool): signal the process alone.
  }
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessRunning(pid)) return true;
    await sleep(100);
  }
  return !isProcessRunning(pid);
}

/** Resident set size of a process in bytes (VmRSS), or undefined when unknown. */
export function readRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** The last `lineCount` lines of a log file, for error messages. */
export function tailFile(path: string, lineCount = 30): string {
  const maxBytes = 64 * 1024;
  try {
    const fd = openSync(path, 'r');
    try {
      const sizeBytes = fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.min(sizeBytes, maxBytes));
      readSync(fd, buffer, 0, buffer.length, sizeBytes - buffer.length);
      return buffer
        .toString('utf8')
        .split('\n')
        .slice(-lineCount - 1)
        .join('\n')
        .trimEnd();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '(no log)';
  }
}

/** The first `maxBytes` of a file as text (empty when unreadable), for facts a server logs at start. */
export function readFileHead(path: string, maxBytes = 1024 * 1024): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(fstatSync(fd).size, maxBytes));
      readSync(fd, buffer, 0, buffer.length, 0);
      return buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * What a failed server's log says, for an error message: its first ERROR/FATAL lines (the cause; a
 * JVM's shutdown then logs pages of noise after it) followed by the last lines.
 */
export function summarizeLog(path: string, errorLineCount = 8, tailLineCount = 15): string {
  const errors = readFileHead(path, 8 * 1024 * 1024)
    .split('\n')
    .filter((line) => /\b(ERROR|FATAL|SEVERE)\b|Exception:/.test(line))
    .slice(0, errorLineCount);
  const tail = tailFile(path, tailLineCount);
  return errors.length === 0 ? tail : `first errors:\n${errors.join('\n')}\nlast lines:\n${tail}`;
}
