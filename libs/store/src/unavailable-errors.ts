import cassandra from 'cassandra-driver';
import { ChatmeshError } from '@chatmesh/errors';

const TRANSIENT_RESPONSE_CODES: ReadonlySet<number> = new Set([
  cassandra.types.responseErrorCodes.unavailableException,
  cassandra.types.responseErrorCodes.overloaded,
  cassandra.types.responseErrorCodes.isBootstrapping,
  cassandra.types.responseErrorCodes.writeTimeout,
  cassandra.types.responseErrorCodes.readTimeout,
]);

/**
 * True for a driver error that says Cassandra cannot be reached or answer for now (every host down, a timeout, a
 * full connection, a node unavailable, overloaded or bootstrapping), as opposed to a bad query.
 */
export function isCassandraUnavailable(error: unknown): boolean {
  if (
    error instanceof cassandra.errors.NoHostAvailableError ||
    error instanceof cassandra.errors.OperationTimedOutError ||
    error instanceof cassandra.errors.BusyConnectionError
  ) {
    return true;
  }
  return error instanceof cassandra.errors.ResponseError && TRANSIENT_RESPONSE_CODES.has(error.code);
}

/**
 * The client with `execute` and `batch` turning a driver error that means "unavailable for now" into a retriable
 * `CM_ERR_STORE_UNAVAILABLE` (the driver's error kept as the cause); other errors pass unchanged.
 *
 * Why: the consumers of the message path retry only errors that say they are retriable; a bare driver error
 * (`NoHostAvailableError` while Cassandra restarts) was dead-lettered on its first failure, and with it a chat
 * command (never answered), an inbox entry (a message a member never got) or a receipt. The chaos run found it.
 */
export function withUnavailableErrors(client: cassandra.Client): cassandra.Client {
  const wrap =
    (method: (...args: unknown[]) => Promise<unknown>) =>
    async (...args: unknown[]): Promise<unknown> => {
      try {
        return await method.apply(client, args);
      } catch (error) {
        if (!isCassandraUnavailable(error)) throw error;
        throw new ChatmeshError(
          'CM_ERR_STORE_UNAVAILABLE',
          `Cassandra is unavailable: ${(error as Error).message.split('\n')[0]}`,
          {
            cause: error,
          },
        );
      }
    };
  const execute = wrap(client.execute as (...args: unknown[]) => Promise<unknown>);
  const batch = wrap(client.batch as (...args: unknown[]) => Promise<unknown>);
  return new Proxy(client, {
    get(target, property) {
      if (property === 'execute') return execute;
      if (property === 'batch') return batch;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
