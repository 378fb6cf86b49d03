import { ConfigError } from '@chatmesh/config';
import { ChatmeshError } from '@chatmesh/errors';

/** Exit code of a process stopped by an invalid configuration (as `EX_USAGE`-like tools use 2). */
export const CONFIG_EXIT_CODE = 2;
/** Exit code of a process that failed to start for any other reason. */
export const START_FAILED_EXIT_CODE = 1;

/** Where {@link runMain} reports and how it exits; tests pass fakes. */
export interface RunMainOptions {
  /** @default process.stderr */
  readonly stderr?: { write(text: string): unknown };
  /** @default process.exit */
  readonly exit?: (code: number) => void;
}

/**
 * Runs a `main` function and turns start-up failures into one readable message and an exit code:
 * a {@link ConfigError} prints its list of problems and exits {@link CONFIG_EXIT_CODE}, with no stack
 * trace (the user's input is wrong, not the code); any other error prints its code, message and
 * causes and exits {@link START_FAILED_EXIT_CODE}.
 */
export async function runMain(main: () => Promise<void>, options: RunMainOptions = {}): Promise<void> {
  const stderr = options.stderr ?? process.stderr;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigError) {
      stderr.write(`chatmesh: ${error.message}\n`);
      exit(CONFIG_EXIT_CODE);
      return;
    }
    stderr.write(`chatmesh: failed to start: ${describeError(error)}\n`);
    exit(START_FAILED_EXIT_CODE);
  }
}

function describeError(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return String(error);
  const code = error instanceof ChatmeshError ? `[${error.code}] ` : '';
  const cause = error.cause !== undefined && depth < 5 ? `\n  caused by: ${describeError(error.cause, depth + 1)}` : '';
  return `${code}${error.message}${cause}`;
}
