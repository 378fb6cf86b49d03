import type { Logger } from '@chatmesh/logging';

/** Exit code after an uncaught exception or unhandled rejection. */
export const CRASH_EXIT_CODE = 70;

/**
 * Logs an uncaught exception or unhandled rejection as one `fatal` JSON line (with the error's code
 * and cause chain) and exits {@link CRASH_EXIT_CODE} at once. No graceful stop: after an unknown
 * failure the state is unknown, and at-least-once delivery redelivers every uncommitted record to
 * whichever instance takes over, which is safer than committing on top of a broken state.
 */
export function installCrashHandlers(logger: Logger, proc: Pick<NodeJS.Process, 'on' | 'exit'> = process): void {
  proc.on('uncaughtException', (error: Error) => {
    logger.fatal({ err: error }, 'uncaught exception: exiting');
    proc.exit(CRASH_EXIT_CODE);
  });
  proc.on('unhandledRejection', (reason: unknown) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection: exiting');
    proc.exit(CRASH_EXIT_CODE);
  });
}
