import {
  ConfigError,
  defineConfigSection,
  defineVariable,
  getConfigSection,
  parsers,
  type ConfigProblem,
} from '@chatmesh/config';
import { MAX_CLIENT_RETRY_AGE_MS } from '@chatmesh/protocol';
import { DEFAULT_LOG_RETENTION, type LogRetention } from '@chatmesh/store';

const DAY_S = 24 * 60 * 60;
const TEN_YEARS_S = 3650 * DAY_S;
/** The chat log's keys outlive the longest client retry by a day: clock skew, a retry sent as the outbox drops it. */
const MIN_CHAT_KEY_S = MAX_CLIENT_RETRY_AGE_MS / 1000 + DAY_S;

/**
 * How long the sequenced tables keep their rows (docs/reliability.md "Retention"). Read by every process: ingest and
 * fan-out write with these TTLs, the gateway reads with them in mind. Cross-checked by {@link retentionOf}.
 */
export const RETENTION_CONFIG = defineConfigSection({
  description: 'retention: how long the chat log, the inbox and the idempotency keys are kept (per-write TTLs)',
  variables: {
    chatLogSeconds: defineVariable({
      env: 'CHATMESH_RETENTION_CHAT_LOG_SECONDS',
      description:
        "How long a chat's history (messages and lifecycle events) is kept; 0 keeps it forever. Devices that were away longer than the inbox retention catch up from it, and what it no longer holds reaches them as an explicit gap.",
      schema: parsers.integer(0, TEN_YEARS_S),
      noun: 'duration',
      expected: `an integer 0-${TEN_YEARS_S} (seconds; 0 = forever)`,
      default: DEFAULT_LOG_RETENTION.chatLogSeconds,
    }),
    chatKeySeconds: defineVariable({
      env: 'CHATMESH_RETENTION_CHAT_KEYS_SECONDS',
      description: `How long a sent message's client message id is remembered, so that a retried send gets its first acknowledgement instead of being stored twice. At least the SDK's outbox horizon (${MAX_CLIENT_RETRY_AGE_MS / 86_400_000} days, after which the SDK drops an unsent command) plus a day.`,
      schema: parsers.integer(MIN_CHAT_KEY_S, TEN_YEARS_S),
      noun: 'duration',
      expected: `an integer ${MIN_CHAT_KEY_S}-${TEN_YEARS_S} (seconds)`,
      default: DEFAULT_LOG_RETENTION.chatKeySeconds,
    }),
    inboxSeconds: defineVariable({
      env: 'CHATMESH_RETENTION_INBOX_SECONDS',
      description:
        "How long a user's inbox entries (and fan-out's dedupe keys) are kept: a device offline longer gets a syncGap frame for what expired and resyncs from the chat history. At most the chat log's retention when that is not forever.",
      schema: parsers.integer(60, TEN_YEARS_S),
      noun: 'duration',
      expected: `an integer 60-${TEN_YEARS_S} (seconds)`,
      default: DEFAULT_LOG_RETENTION.inboxSeconds,
    }),
  },
});

/**
 * The retention policy of a loaded configuration, with the rules between its values checked: the inbox references
 * chat log rows (so it may not outlive them), and the receipts service's FAILED deadline reads the message's chat log
 * row (so the history must outlive the deadline).
 * @throws ConfigError `CM_ERR_CONFIG_INVALID` listing every broken rule
 */
export function retentionOf(config: { readonly sections: Readonly<Record<string, unknown>> }): LogRetention {
  const values = getConfigSection(config, 'retention', RETENTION_CONFIG);
  const retention: LogRetention = {
    chatLogSeconds: values.chatLogSeconds,
    chatKeySeconds: values.chatKeySeconds,
    inboxSeconds: values.inboxSeconds,
  };
  const problems: ConfigProblem[] = [];
  const failAfterMs = (config.sections['receipts'] as { failAfterMs?: number } | undefined)?.failAfterMs;
  if (retention.chatLogSeconds > 0) {
    if (retention.inboxSeconds > retention.chatLogSeconds) {
      problems.push({
        variable: 'CHATMESH_RETENTION_INBOX_SECONDS',
        value: String(retention.inboxSeconds),
        expected: `at most CHATMESH_RETENTION_CHAT_LOG_SECONDS (${retention.chatLogSeconds})`,
        message: `CHATMESH_RETENTION_INBOX_SECONDS=${retention.inboxSeconds} outlives the chat log it points into (CHATMESH_RETENTION_CHAT_LOG_SECONDS=${retention.chatLogSeconds}): expected at most that`,
      });
    }
    if (failAfterMs !== undefined && failAfterMs >= retention.chatLogSeconds * 1000) {
      problems.push({
        variable: 'CHATMESH_RETENTION_CHAT_LOG_SECONDS',
        value: String(retention.chatLogSeconds),
        expected: `more than CHATMESH_RECEIPTS_FAIL_AFTER_MS / 1000 (${failAfterMs / 1000})`,
        message: `CHATMESH_RETENTION_CHAT_LOG_SECONDS=${retention.chatLogSeconds} drops messages before the receipts service can mark them FAILED (CHATMESH_RECEIPTS_FAIL_AFTER_MS=${failAfterMs}): expected 0 (forever) or more than ${failAfterMs / 1000}`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return retention;
}
