import { defineMetricTable, type MetricInstruments } from '@chatmesh/metrics';
import type { ChatCommand } from '@chatmesh/schemas';
import type { CommandOutcome } from './command-processor.js';

/** Gateway receipt to stored: a bus hop and a store round trip, ms embedded, tens of ms on Kafka and Cassandra. */
const STORED_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Commands of one chat handed over together: 1 for a quiet chat, up to CHATMESH_INGEST_MAX_BATCH_PER_CHAT. */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;

/** Ingest's own metrics. Label values are command types, outcomes and error codes: never a chat or user id. */
export const INGEST_METRICS = defineMetricTable({
  ingestCommandsTotal: {
    name: 'chatmesh_ingest_commands_total',
    type: 'counter',
    help: 'Commands handled, by type (send, create, update, add_members, remove_members, leave) and outcome (accepted, duplicate: a retried send answered with its original result, refused).',
    labelNames: ['type', 'outcome'],
  },
  ingestRefusalsTotal: {
    name: 'chatmesh_ingest_refusals_total',
    type: 'counter',
    help: 'Commands refused with an error to the sending device, by code (CM_ERR_CHAT_*, rate limits).',
    labelNames: ['code'],
  },
  ingestCommandToStoredSeconds: {
    name: 'chatmesh_ingest_command_to_stored_seconds',
    type: 'histogram',
    help: "Time from the gateway receiving an accepted command (its origin's receivedAtMs) to ingest having stored it and staged its event; clocks of two hosts when they differ.",
    labelNames: ['type'],
    buckets: STORED_SECONDS_BUCKETS,
  },
  ingestBatchSizeCommands: {
    name: 'chatmesh_ingest_batch_size_commands',
    type: 'histogram',
    help: 'Commands of one chat handled as one batch (one key read, one batched append); single commands are batches of 1.',
    labelNames: [],
    buckets: BATCH_SIZE_BUCKETS,
  },
});

export type IngestMetrics = MetricInstruments<typeof INGEST_METRICS>;

const COMMAND_TYPES: Readonly<Record<string, string>> = {
  'chatmesh.chat.SendMessage': 'send',
  'chatmesh.chat.CreateChat': 'create',
  'chatmesh.chat.UpdateChat': 'update',
  'chatmesh.chat.AddMembers': 'add_members',
  'chatmesh.chat.RemoveMembers': 'remove_members',
  'chatmesh.chat.LeaveChat': 'leave',
};

/** The `type` label of a command: its union branch, short. */
export function commandType(command: ChatCommand): string {
  const branch = Object.keys(command.command)[0] ?? '';
  return COMMAND_TYPES[branch] ?? 'unknown';
}

/** Counts one handled command; `nowMs` is when it was stored (its outcome known). */
export function recordCommand(
  metrics: IngestMetrics,
  command: ChatCommand,
  outcome: CommandOutcome,
  nowMs: number,
): void {
  const type = commandType(command);
  if (!outcome.accepted) {
    metrics.ingestCommandsTotal.inc({ type, outcome: 'refused' });
    metrics.ingestRefusalsTotal.inc({ code: outcome.code });
    return;
  }
  metrics.ingestCommandsTotal.inc({ type, outcome: outcome.duplicate ? 'duplicate' : 'accepted' });
  if (!outcome.duplicate) {
    metrics.ingestCommandToStoredSeconds.observe({ type }, Math.max(0, nowMs - command.origin.receivedAtMs) / 1000);
  }
}
