import type { Logger } from './create-logger.js';

/** Options of {@link createSampledLog}. */
export interface SampledLogOptions {
  /** Lines logged per key in each interval; later ones are only counted. @default 5 */
  readonly perInterval?: number;
  /** @default 60000 */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Logs the first few occurrences of each key per interval (see {@link createSampledLog}). */
export interface SampledLog {
  /** Logs at `level` unless this key already had its lines this interval; returns whether it logged. */
  log(level: 'info' | 'warn' | 'error', key: string, fields: Record<string, unknown>, message: string): boolean;
}

/**
 * A log for events that can come in floods (refused frames, policy closes, dead letters): every one is counted by a
 * metric, and the first `perInterval` of each key (an error code) per interval also get a line, so a refusal is
 * never invisible and an abusive client cannot flood the logs. The first line of an interval says how many of
 * that key the previous interval left unlogged (`suppressedBefore`).
 */
export function createSampledLog(logger: Logger, options: SampledLogOptions = {}): SampledLog {
  const perInterval = options.perInterval ?? 5;
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { startMs: number; logged: number; suppressed: number }>();
  return {
    log(level, key, fields, message) {
      const at = now();
      let window = windows.get(key);
      let suppressedBefore = 0;
      if (window === undefined || at - window.startMs >= intervalMs) {
        suppressedBefore = window?.suppressed ?? 0;
        window = { startMs: at, logged: 0, suppressed: 0 };
        windows.set(key, window);
      }
      if (window.logged >= perInterval) {
        window.suppressed++;
        return false;
      }
      window.logged++;
      logger[level]({ ...fields, sampleKey: key, ...(suppressedBefore > 0 ? { suppressedBefore } : {}) }, message);
      return true;
    },
  };
}
