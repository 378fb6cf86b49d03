import { defineCodes } from './types.js';

/** Codes of @chatmesh/dlq: inspecting the dead-letter twins and replaying their records (`npm run dlq`). */
export const DLQ_CODES = defineCodes({
  CM_ERR_DLQ_USAGE: {
    message: 'The dlq command line is invalid (unknown command or option, bad offset, time or limit).',
    retriable: false,
    fix: 'Read the message and `npm run dlq -- <command> --help`; times are ISO 8601 or relative (`30m`, `2h`, `7d`), offsets are decimal integers.',
  },
  CM_ERR_DLQ_NOT_A_TWIN: {
    message: 'The topic named is not a dead-letter twin that exists on this cluster.',
    retriable: false,
    fix: 'Name a twin (`<topic>.dlq`, e.g. `chat.events.dlq`); `npm run dlq -- list` shows every twin holding records.',
  },
  CM_ERR_DLQ_NOT_FOUND: {
    message: 'The twin holds no record at that offset (never written, or already deleted by retention).',
    retriable: false,
    fix: 'List the twin (`npm run dlq -- list --topic <twin>`) to see its offsets; twins keep records 30 days.',
  },
  CM_ERR_DLQ_BAD_ENVELOPE: {
    message: 'A record of a twin is not a readable DeadLetter envelope.',
    retriable: false,
    fix: 'Something other than the bus or a service wrote to the twin; inspect it with a Kafka tool. It cannot be replayed by this tool.',
  },
  CM_ERR_DLQ_READ_TIMEOUT: {
    message: 'A twin (or its replay marker topic) could not be read to its end in time.',
    retriable: true,
    fix: 'Check the brokers (KAFKA_BROKERS) and retry; raise `--timeout` on a slow cluster.',
  },
  CM_ERR_DLQ_ALREADY_REPLAYED: {
    message: 'The dead letter at this twin offset was replayed before; a twin offset is replayed at most once.',
    retriable: false,
    fix: 'Nothing to do. If the replayed record failed again it is parked again at a new offset of the twin: replay that one after the next fix.',
  },
  CM_ERR_DLQ_NOTICE_NOT_REPLAYABLE: {
    message:
      'The record is a notice (receipts.dlq, CM_ERR_RECEIPTS_UNDELIVERED), not a failed record, so it is not replayed.',
    retriable: false,
    fix: 'Nothing to fix: it records a message that stayed undelivered. Pass `--force` only if you really want the message event re-produced to chat.events.',
  },
  CM_ERR_DLQ_NOTHING_TO_REPLAY: {
    message: 'The dead letter has no original value (the parked record was null), so there is nothing to re-produce.',
    retriable: false,
    fix: 'Nothing to do: a null record carries no message; it was parked only so that it is not dropped silently.',
  },
  CM_ERR_DLQ_CONFIRMATION_REQUIRED: {
    message: 'A replay was asked without `--yes` and no terminal to confirm it on.',
    retriable: false,
    fix: 'Run it first with `--dry-run` to see what would be replayed, then again with `--yes`.',
  },
});
