import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** The server a testing error is about, when there is one. */
export type TestServer = 'kafka' | 'cassandra' | 'redis' | 'schema-registry' | 's3';

/** Thrown by @chatmesh/testing: a wait that timed out, or a server that could not be provided. */
export class TestingError extends ChatmeshError {
  override readonly name = 'TestingError';
  readonly server: TestServer | undefined;

  constructor(code: ErrorCode, message: string, options: ChatmeshErrorOptions & { server?: TestServer } = {}) {
    super(code, message, { ...options, context: { ...options.context, server: options.server } });
    this.server = options.server;
  }
}
