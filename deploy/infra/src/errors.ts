import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** The component an infrastructure error is about, when there is one. */
export type InfraErrorComponent = 'kafka' | 'cassandra' | 'redis' | 'schema-registry' | 's3' | undefined;

/**
 * Thrown by @chatmesh/infra when a server cannot be installed, started, checked or stopped.
 * `component` names the server; `logFile` points at its log when there is one, and the message
 * carries the log's tail so a CI log alone explains the failure.
 */
export class InfraError extends ChatmeshError {
  override readonly name = 'InfraError';
  readonly component: InfraErrorComponent;
  readonly logFile: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: ChatmeshErrorOptions & { component?: InfraErrorComponent; logFile?: string } = {},
  ) {
    super(code, message, {
      ...options,
      context: { ...options.context, component: options.component, logFile: options.logFile },
    });
    this.component = options.component;
    this.logFile = options.logFile;
  }
}
