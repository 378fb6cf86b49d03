import type { Logger } from '@chatmesh/logging';
import { RuntimeError } from './errors.js';

/** The parts of `process` the shutdown helper uses, so tests can pass a fake. */
export interface ProcessLike {
  once(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

/** Options of {@link installShutdown}. */
export interface ShutdownOptions {
  /** Called first and synchronously: mark the process not ready (the ops server's drain). */
  readonly onDrain?: () => void;
  /** The graceful stop: services in reverse order, then the bus, then the ops server. */
  readonly stop: () => Promise<void>;
  /** Time allowed for `stop` before the process is forced out with exit code 1. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** @default ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[];
  /** @default process */
  readonly process?: ProcessLike;
}

/** The installed handler. */
export interface Shutdown {
  /** Starts the same sequence a signal would (for a fatal error, or tests). Resolves when it has exited. */
  trigger(reason: string): Promise<void>;
  /** Removes the signal listeners. */
  dispose(): void;
}

/** Exit code after a forced exit (second signal or timeout). */
export const FORCED_EXIT_CODE = 1;

/**
 * Installs the process's stop sequence: on the first SIGTERM/SIGINT mark not ready, run `stop`,
 * and exit 0; on a second signal, or when `stop` outlives `timeoutMs`, or if `stop` throws,
 * exit {@link FORCED_EXIT_CODE} at once. Kubernetes sends SIGTERM and then SIGKILL after the grace
 * period, so the timeout should be shorter than that period.
 */
export function installShutdown(options: ShutdownOptions): Shutdown {
  const proc = options.process ?? process;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const { logger } = options;
  let running: Promise<void> | undefined;

  const run = (reason: string): Promise<void> => {
    if (running !== undefined) {
      logger.warn({ reason }, 'second stop request: forcing exit');
      proc.exit(FORCED_EXIT_CODE);
      return running;
    }
    logger.info({ reason, timeoutMs: options.timeoutMs }, 'stopping: draining, then stopping services');
    options.onDrain?.();
    running = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        logger.error(
          {
            err: new RuntimeError(
              'CM_ERR_RUNTIME_SHUTDOWN_TIMEOUT',
              `graceful stop took longer than ${options.timeoutMs} ms`,
            ),
          },
          'forcing exit',
        );
        proc.exit(FORCED_EXIT_CODE);
        resolve();
      }, options.timeoutMs);
      options.stop().then(
        () => {
          clearTimeout(timer);
          logger.info('stopped cleanly');
          proc.exit(0);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          logger.error({ err: error }, 'graceful stop failed');
          proc.exit(FORCED_EXIT_CODE);
          resolve();
        },
      );
    });
    return running;
  };

  const listener = (signal: NodeJS.Signals): void => {
    void run(signal);
  };
  for (const signal of signals) proc.on(signal, listener);
  return {
    trigger: run,
    dispose() {
      for (const signal of signals) proc.off(signal, listener);
    },
  };
}
