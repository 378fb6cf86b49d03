import { cpus, loadavg, totalmem, freemem, release, platform } from 'node:os';

/** The machine a benchmark ran on, as printed and stored with its results. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly freeMemoryGiB: number;
  readonly node: string;
  readonly os: string;
  /** 1, 5 and 15 minute load averages when read: above `cores` means the CPUs were shared with other work. */
  readonly loadAverage: readonly number[];
}

/** Reads {@link MachineInfo} of this process's machine. */
export function readMachineInfo(): MachineInfo {
  const list = cpus();
  const gib = (bytes: number): number => Math.round((bytes / 1024 ** 3) * 10) / 10;
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
