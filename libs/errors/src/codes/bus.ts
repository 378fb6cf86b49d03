import { defineCodes } from './types.js';

/** Codes of @chatmesh/bus: topics, producing, consumer groups, dead-lettering and the Kafka client. */
export const BUS_CODES = defineCodes({
  CM_ERR_BUS_UNKNOWN_TOPIC: {
    message: 'The topic does not exist; topics are never auto-created.',
    retriable: false,
    fix: 'Create the topic first with `bus.admin.createTopics` (services declare their topics at start).',
  },
  CM_ERR_BUS_INVALID_PARTITION: {
    message: 'A record named a partition that the topic does not have.',
    retriable: false,
    fix: 'Use a partition in [0, partitionCount) or leave `partition` unset so the key decides.',
  },
  CM_ERR_BUS_INVALID_OPTIONS: {
    message: 'Bus, topic or subscription options are missing or contradictory.',
    retriable: false,
    fix: 'Read the listed problems in the message; each names the option and the value it got.',
  },
  CM_ERR_BUS_INVALID_NAMESPACE: {
    message: 'The bus namespace is not 1-64 letters, digits, "_" or "-" (it prefixes every topic and group name).',
    retriable: false,
    fix: 'Set CHATMESH_NAMESPACE (or the namespace given to `createNamespacedBus`) to e.g. `bench-1`, without dots; leave it empty for no namespace.',
  },
  CM_ERR_BUS_CLOSED: {
    message: 'The bus or subscription is closed and accepts no more work.',
    retriable: false,
    fix: 'Create a new bus or subscription; do not use one after `close()`, `stop()` or `crash()`.',
  },
  CM_ERR_BUS_GROUP_ACTIVE: {
    message: 'The consumer group has running members, so its committed offsets cannot be moved.',
    retriable: true,
    fix: 'Stop every member of the group (scale the service to zero) before resetting offsets.',
  },
  CM_ERR_BUS_HANDLER_FAILED: {
    message: 'A record handler threw an error that is not a ChatmeshError.',
    retriable: true,
    fix: 'Read `cause`; the record was retried and then written to the dead-letter twin with this code.',
  },
  CM_ERR_BUS_DEAD_LETTER_FAILED: {
    message: 'A failing record could not be written to its dead-letter topic, so its offset was not committed.',
    retriable: true,
    fix: 'Check that the `<topic>.dlq` twin exists and that the dead-letter encoder works; the record is redelivered.',
  },
  CM_ERR_BUS_BROKER_UNAVAILABLE: {
    message: 'No Kafka broker could be reached or the connection dropped.',
    retriable: true,
    fix: 'Check KAFKA_BROKERS and that the brokers are up and reachable from this host.',
  },
  CM_ERR_BUS_TIMEOUT: {
    message: 'A Kafka request did not complete in time.',
    retriable: true,
    fix: 'Usually transient (broker busy or restarting); raise the request timeout only if it persists.',
  },
  CM_ERR_BUS_REBALANCING: {
    message: 'The consumer group is rebalancing or this member lost its partitions (stale generation).',
    retriable: true,
    fix: 'Nothing to do: the record is not committed and the partition owner after the rebalance receives it again.',
  },
  CM_ERR_BUS_NOT_AUTHORIZED: {
    message: 'The broker refused the operation for lack of permissions (ACL).',
    retriable: false,
    fix: 'Grant the principal the topic, group or cluster ACL named in the message.',
  },
  CM_ERR_BUS_RECORD_TOO_LARGE: {
    message: 'A record or batch is larger than the broker or topic allows.',
    retriable: false,
    fix: 'Keep bodies small (attachments go by reference) or raise max.message.bytes on the topic.',
  },
  CM_ERR_BUS_INVALID_REQUEST: {
    message: 'The broker rejected a request as invalid (bad config, partition count, record or offset).',
    retriable: false,
    fix: 'Read the broker message in `cause`; fix the topic spec, record or offsets the call used.',
  },
  CM_ERR_BUS_PRODUCER_FENCED: {
    message: 'The idempotent producer was fenced or lost its sequence state.',
    retriable: false,
    fix: 'Recreate the bus; another producer with the same id took over or the broker lost the producer state.',
  },
  CM_ERR_BUS_BROKER_ERROR: {
    message: 'Kafka returned an error that has no more specific chatmesh code.',
    retriable: true,
    fix: 'Read the kafkajs error in `cause` (its `type` is the broker error name); the `retriable` flag follows it.',
  },
});
