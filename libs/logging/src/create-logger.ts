import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { serializeError } from './serialize-error.js';

/** A structured JSON logger; `child({ component })` adds bindings to every line. */
export type Logger = PinoLogger;

/** Log levels, most severe first; `silent` logs nothing. */
export type LoggerLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Bound to every line as `service` (a service name, or `launcher`). */
  readonly service: string;
  /** @default 'info' */
  readonly level?: LoggerLevel;
  /** Where lines go. @default stdout, written synchronously so nothing is lost on exit */
  readonly destination?: DestinationStream;
  /** More bindings for every line (e.g. `gatewayId`). @default {} */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

/**
 * Creates the process's logger: one JSON object per line with `level` as a word, an ISO `time`,
 * `service`, and errors (under `err` or `error`) serialised with their `code`, `retriable`,
 * `context` and `cause` chain.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError, error: serializeError },
    },
    // sync: a service that exits on a fatal error must still have printed why.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A child logger for one component (`bus`, `ops-server`, `inbox-sequencer`...). */
export function createComponentLogger(
  logger: Logger,
  component: string,
  bindings: Record<string, unknown> = {},
): Logger {
  return logger.child({ component, ...bindings });
}
