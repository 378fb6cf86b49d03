import { ChatmeshError } from '@chatmesh/errors';

/** One thing wrong with the environment: which variable, what it held, and what was expected. */
export interface ConfigProblem {
  /** The environment variable, e.g. `CHATMESH_HTTP_PORT`. */
  readonly variable: string;
  /** The raw value, or `undefined` when the variable is not set. Secrets are masked. */
  readonly value: string | undefined;
  /** What a valid value looks like, e.g. `an integer 0-65535`. */
  readonly expected: string;
  /** The whole sentence, as printed: `CHATMESH_HTTP_PORT="abc" is not a valid port: expected an integer 0-65535`. */
  readonly message: string;
}

/**
 * Thrown by {@link loadConfig} when any variable is invalid. It lists every problem at once (not the
 * first one only), so one restart fixes them all. Code `CM_ERR_CONFIG_INVALID`, never retriable.
 */
export class ConfigError extends ChatmeshError {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  /** @param hint one more line printed under the problems (what to do, e.g. how to start the servers). */
  constructor(problems: readonly ConfigProblem[], hint?: string) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((problem) => `  - ${problem.message}`).join('\n');
    const footer = hint === undefined ? 'See docs/configuration.md.' : `${hint}\nSee docs/configuration.md.`;
    super('CM_ERR_CONFIG_INVALID', `Invalid configuration (${count}):\n${lines}\n${footer}`, {
      context: { variables: problems.map((problem) => problem.variable) },
    });
    this.problems = Object.freeze(problems.map((problem) => Object.freeze({ ...problem })));
  }
}
