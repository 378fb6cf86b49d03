/**
 * CPU accounting from /proc (Linux): the utime + stime of a process, read before and after a phase,
 * divided by the phase's wall time, is the share of one core it used. Also finds the process listening
 * on a loopback port (Kafka, Cassandra, Redis, the registry), through /proc/net/tcp and /proc/<pid>/fd.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used; NaN when it cannot be read (gone, not Linux). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** The pid of the process listening on TCP `port` (any local address); null when not found or not readable. */
export function findListeningPid(port: number): number | null {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const local = fields[1]!;
      const state = fields[3];
      if (state !== '0A') continue; // LISTEN
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

/** The ports of `host:port` lists and URLs (`KAFKA_BROKERS`, `redis://…`); unparsable items are skipped. */
export function portsOf(endpoints: string): number[] {
  const ports: number[] = [];
  for (const item of endpoints.split(',')) {
    const match = /:(\d{1,5})(?:\/.*)?$/.exec(item.trim());
    if (match) ports.push(Number(match[1]));
  }
  return ports;
}

/** A CPU reading of named processes over a phase. */
export interface CpuShare {
  readonly name: string;
  readonly pid: number;
  readonly cpuSeconds: number;
  /** cpuSeconds ÷ wall seconds: 1 = one full core. */
  readonly shareOfOneCore: number;
}

/** Reads every process now; call `finish()` at the phase's end for each one's share. */
export function startCpuWindow(processes: ReadonlyArray<{ name: string; pid: number }>): {
  finish(): CpuShare[];
} {
  const startedAt = performance.now();
  const before = processes.map((proc) => processCpuSeconds(proc.pid));
  return {
    finish() {
      const wallSeconds = (performance.now() - startedAt) / 1000;
      return processes.map((proc, index) => {
        const cpuSeconds = processCpuSeconds(proc.pid) - before[index]!;
        return {
          name: proc.name,
          pid: proc.pid,
          cpuSeconds: Math.round(cpuSeconds * 100) / 100,
          shareOfOneCore: Math.round((cpuSeconds / wallSeconds) * 1000) / 1000,
        };
      });
    },
  };
}

/** The live child processes of `ppid` with their command lines (from /proc). */
export function childProcesses(ppid: number): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== ppid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: Number(entry), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
