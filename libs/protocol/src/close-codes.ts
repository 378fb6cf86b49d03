/**
 * WebSocket close codes the gateway uses, as data: the SDK decides from `retriable`
 * whether to reconnect, and from `resume` whether it may reconnect at once.
 */
export interface CloseCodeEntry {
  readonly code: number;
  readonly type: string;
  /** Reconnecting (with backoff) may succeed. */
  readonly retriable: boolean;
  readonly message: string;
}

export const CLOSE_CODES = Object.freeze({
  NORMAL: { code: 1000, type: 'NORMAL', retriable: false, message: 'closed by the client or the server on purpose' },
  GOING_AWAY: { code: 1001, type: 'GOING_AWAY', retriable: true, message: 'the server is shutting down' },
  TOO_BIG: { code: 1009, type: 'TOO_BIG', retriable: true, message: 'a frame exceeded the size limit' },
  SERVICE_RESTART: { code: 1012, type: 'SERVICE_RESTART', retriable: true, message: 'draining: reconnect elsewhere' },
  AUTH_EXPIRED: {
    code: 4001,
    type: 'AUTH_EXPIRED',
    retriable: true,
    message: 'the token expired: reconnect with a fresh one',
  },
  SLOW_CONSUMER: {
    code: 4008,
    type: 'SLOW_CONSUMER',
    retriable: true,
    message: 'the client read too slowly (send buffer over its bound); resume from the cursor',
  },
  POLICY: { code: 4009, type: 'POLICY', retriable: true, message: 'repeated protocol violations or rate abuse' },
  REPLACED: { code: 4010, type: 'REPLACED', retriable: false, message: 'the same device connected again elsewhere' },
  DEVICE_REMOVED: {
    code: 4011,
    type: 'DEVICE_REMOVED',
    retriable: false,
    message: 'the device was removed from the account',
  },
  DEVICE_LIMIT: {
    code: 4012,
    type: 'DEVICE_LIMIT',
    retriable: false,
    message: 'the user already has the maximum number of devices; remove one first',
  },
} as const satisfies Record<string, CloseCodeEntry>);

export type CloseCodeName = keyof typeof CLOSE_CODES;

/** The entry for a numeric close code, if it is one of ours. */
export function closeCodeEntry(code: number): CloseCodeEntry | undefined {
  return Object.values(CLOSE_CODES).find((entry) => entry.code === code);
}
