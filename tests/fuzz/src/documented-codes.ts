import { ERROR_CODES } from '@chatmesh/errors';
import { CLOSE_CODES } from '@chatmesh/protocol';

/** Every error code of the table (what docs/errors.md lists). */
export const DOCUMENTED_CODES: ReadonlySet<string> = new Set(Object.keys(ERROR_CODES));

/**
 * Every WebSocket close code the protocol documents, plus RFC 6455's own that a server sends. Not 1006: a client
 * sees it when the connection ends without a close frame, which a server must never do.
 */
export const DOCUMENTED_CLOSE_CODES: ReadonlySet<number> = new Set([
  ...Object.values(CLOSE_CODES).map((entry) => entry.code),
  1000,
  1001,
  1007,
  1008,
  1009,
  1011,
  1012,
]);
