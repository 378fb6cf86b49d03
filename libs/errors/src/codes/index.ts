/**
 * The single table of every chatmesh error code, merged from one file per area.
 * Add a code to its area's file (or a new area file imported here); `docs/errors.md` is generated
 * from this table by `npm run docs:errors -w @chatmesh/errors` and a test keeps the two in step.
 */
import { ATTACHMENT_CODES } from './attachment.js';
import { BENCH_CODES } from './bench.js';
import { BUS_CODES } from './bus.js';
import { CHAT_CODES } from './chat.js';
import { CLIENT_CODES } from './client.js';
import { COMMON_CODES } from './common.js';
import { CONFIG_CODES } from './config.js';
import { DLQ_CODES } from './dlq.js';
import { E2E_CODES } from './e2e.js';
import { GATEWAY_CODES } from './gateway.js';
import { INFRA_CODES } from './infra.js';
import { PRESENCE_CODES } from './presence.js';
import { PROTOCOL_CODES } from './protocol.js';
import { PUSH_CODES } from './push.js';
import { RECEIPTS_CODES } from './receipts.js';
import { RUNTIME_CODES } from './runtime.js';
import { SCHEMA_CODES } from './schema.js';
import { STORE_CODES } from './store.js';
import type { ErrorCodeEntry } from './types.js';

export const ERROR_CODES = {
  ...COMMON_CODES,
  ...ATTACHMENT_CODES,
  ...BENCH_CODES,
  ...CHAT_CODES,
  ...CLIENT_CODES,
  ...BUS_CODES,
  ...CONFIG_CODES,
  ...DLQ_CODES,
  ...E2E_CODES,
  ...GATEWAY_CODES,
  ...INFRA_CODES,
  ...PRESENCE_CODES,
  ...PROTOCOL_CODES,
  ...PUSH_CODES,
  ...RECEIPTS_CODES,
  ...RUNTIME_CODES,
  ...SCHEMA_CODES,
  ...STORE_CODES,
} as const satisfies Record<string, ErrorCodeEntry>;

/** Every code chatmesh can emit. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `value` is a code of the table (a code read off the wire, e.g. a refusal relayed through Kafka). */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}
export type { ErrorCodeEntry } from './types.js';
export { defineCodes } from './types.js';
