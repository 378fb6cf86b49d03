/**
 * Namespaces: several stacks, benchmarks and test runs share one Kafka without colliding. A namespaced bus
 * prefixes every topic and consumer group name with `<namespace>.` on the way to the bus it wraps, and shows
 * the logical (unprefixed) names to its users, so services, tools and dead-letter envelopes never see the
 * prefix and work unchanged inside their namespace.
 */
import { BusError } from './errors.js';
import { defaultDeadLetterTopic } from './internal/subscribe-options.js';
import type {
  Bus,
  BusAdmin,
  BusInstrumentation,
  BusProducer,
  BusRecord,
  DeadLetterEnvelope,
  HandlerContext,
  OutgoingRecord,
  RecordMetadata,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './types.js';

/** A valid namespace: 1-64 of `[A-Za-z0-9_-]` (no dots: the dot separates it from the name). */
export const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks a namespace before it becomes part of every topic and group name.
 * @throws BusError `CM_ERR_BUS_INVALID_NAMESPACE` unless it matches {@link NAMESPACE_PATTERN}
 */
export function assertValidNamespace(namespace: string): void {
  if (typeof namespace === 'string' && NAMESPACE_PATTERN.test(namespace)) return;
  throw new BusError(
    'CM_ERR_BUS_INVALID_NAMESPACE',
    `Invalid bus namespace ${JSON.stringify(namespace)}: expected 1-64 letters, digits, "_" or "-" (no dots)`,
    { context: { namespace } },
  );
}

/** The physical name of a logical topic or group in `namespace`: `<namespace>.<name>`. */
export function namespacedName(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

/** The logical name of a physical one: the `<namespace>.` prefix removed (names outside the namespace unchanged). */
export function stripNamespace(namespace: string, name: string): string {
  const prefix = `${namespace}.`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/**
 * Wraps `inner` so that everything its users name lives in `namespace`:
 *
 * - topics (`producer.send`, `subscribe`, dead-letter twins, every admin call) become `<namespace>.<topic>`,
 *   consumer groups `<namespace>.<group>`;
 * - consumed records, produce results, assignments, `HandlerContext.groupId`, and the dead-letter envelope's
 *   `originalTopic` and `groupId` carry the logical names, so a replay through a bus of the same namespace
 *   lands on the right topic;
 * - `admin.listTopics()` lists the namespace's topics only, by their logical names.
 *
 * Anything else in the subscription options is passed on unchanged. An empty namespace returns `inner` itself
 * (existing deployments keep their names). Closing the wrapper closes `inner`. The bus's instrumentation is
 * given to `inner` when it is created; wrap it with {@link namespacedInstrumentation} to report logical names.
 *
 * @throws BusError `CM_ERR_BUS_INVALID_NAMESPACE` for a non-empty namespace that is not 1-64 of `[A-Za-z0-9_-]`
 * @example
 * const bus = createNamespacedBus(createKafkaBus({ brokers }), 'bench-42');
 * await bus.admin.createTopics([{ name: 'chat.events', partitions: 4 }]); // creates bench-42.chat.events(.dlq)
 */
export function createNamespacedBus(inner: Bus, namespace: string): Bus {
  if (namespace === '') return inner;
  assertValidNamespace(namespace);
  const physical = (name: string): string => namespacedName(namespace, name);
  const logical = (name: string): string => stripNamespace(namespace, name);
  const logicalMetadata = (metadata: RecordMetadata): RecordMetadata => ({
    ...metadata,
    topic: logical(metadata.topic),
  });

  const producer: BusProducer = {
    async send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
      return (await inner.producer.send(physical(topic), records)).map(logicalMetadata);
    },
  };

  const admin: BusAdmin = {
    createTopics: (specs: readonly TopicSpec[]) =>
      inner.admin.createTopics(specs.map((spec) => ({ ...spec, name: physical(spec.name) }))),
    async listTopics() {
      const prefix = `${namespace}.`;
      return (await inner.admin.listTopics()).filter((topic) => topic.startsWith(prefix)).map(logical);
    },
    partitionCount: (topic) => inner.admin.partitionCount(physical(topic)),
    fetchTopicOffsets: (topic) => inner.admin.fetchTopicOffsets(physical(topic)),
    fetchCommittedOffsets: (groupId, topic) => inner.admin.fetchCommittedOffsets(physical(groupId), physical(topic)),
    resetCommittedOffsets: (groupId, topic, to) =>
      inner.admin.resetCommittedOffsets(physical(groupId), physical(topic), to),
  };

  async function subscribe(options: SubscribeOptions): Promise<Subscription> {
    const { groupId, topics, handler, batchHandler, deadLetter } = options;
    // Malformed options go through as they are, so the inner bus reports them with its usual CM_ERR_BUS_INVALID_OPTIONS.
    const validGroup = typeof groupId === 'string' && groupId.length > 0;
    const twinOf = deadLetter?.topicFor ?? defaultDeadLetterTopic;
    const subscription = await inner.subscribe({
      ...options,
      groupId: validGroup ? physical(groupId) : groupId,
      topics: Array.isArray(topics) ? topics.map(physical) : topics,
      handler:
        typeof handler === 'function'
          ? (record: BusRecord, context: HandlerContext) =>
              handler({ ...record, topic: logical(record.topic) }, logicalContext(context, groupId, physical))
          : handler,
      ...(typeof batchHandler === 'function'
        ? {
            batchHandler: (records: readonly BusRecord[], context: HandlerContext) =>
              batchHandler(
                records.map((record) => ({ ...record, topic: logical(record.topic) })),
                logicalContext(context, groupId, physical),
              ),
          }
        : {}),
      deadLetter:
        typeof deadLetter?.encode === 'function'
          ? {
              ...deadLetter,
              encode: (envelope: DeadLetterEnvelope) =>
                deadLetter.encode({ ...envelope, originalTopic: logical(envelope.originalTopic), groupId }),
              topicFor: (topic: string) => physical(twinOf(logical(topic))),
              ...(deadLetter.lastWords
                ? {
                    lastWords: (record, error, produce) =>
                      deadLetter.lastWords!({ ...record, topic: logical(record.topic) }, error, (topic, records) =>
                        produce(physical(topic), records),
                      ),
                  }
                : {}),
            }
          : deadLetter,
    });
    return {
      groupId,
      ready: subscription.ready,
      assignment: () => subscription.assignment().map((owned) => ({ ...owned, topic: logical(owned.topic) })),
      stop: () => subscription.stop(),
      crash: () => subscription.crash(),
    };
  }

  return {
    kind: inner.kind,
    admin,
    producer,
    subscribe,
    partitionForKey: (key, partitionCount) => inner.partitionForKey(key, partitionCount),
    close: () => inner.close(),
  };
}

/** The handler's view of a context: the logical group, and staged outputs (transactional) sent into the namespace. */
function logicalContext(context: HandlerContext, groupId: string, physical: (name: string) => string): HandlerContext {
  const { produce } = context;
  return {
    ...context,
    groupId,
    ...(produce
      ? { produce: (topic: string, records: readonly OutgoingRecord[]) => produce(physical(topic), records) }
      : {}),
  };
}

/**
 * Instrumentation that reports logical names: the `<namespace>.` prefix is removed from topics and groups before
 * `instrumentation` sees them, so metrics keep the names dashboards know. Give the result to the inner bus
 * (`createKafkaBus({ instrumentation: namespacedInstrumentation(instrumentation, namespace) })`). An empty
 * namespace returns `instrumentation` itself.
 */
export function namespacedInstrumentation(instrumentation: BusInstrumentation, namespace: string): BusInstrumentation {
  if (namespace === '') return instrumentation;
  assertValidNamespace(namespace);
  const logical = (name: string): string => stripNamespace(namespace, name);
  const wrapped: BusInstrumentation = {};
  if (instrumentation.onProduced)
    wrapped.onProduced = (event) => instrumentation.onProduced?.({ ...event, topic: logical(event.topic) });
  if (instrumentation.onHandled)
    wrapped.onHandled = (event) =>
      instrumentation.onHandled?.({ ...event, groupId: logical(event.groupId), topic: logical(event.topic) });
  if (instrumentation.onLag)
    wrapped.onLag = (event) =>
      instrumentation.onLag?.({ ...event, groupId: logical(event.groupId), topic: logical(event.topic) });
  if (instrumentation.onOffsetReset)
    wrapped.onOffsetReset = (event) =>
      instrumentation.onOffsetReset?.({ ...event, groupId: logical(event.groupId), topic: logical(event.topic) });
  if (instrumentation.onRebalance)
    wrapped.onRebalance = (event) =>
      instrumentation.onRebalance?.({
        ...event,
        groupId: logical(event.groupId),
        assigned: event.assigned.map((owned) => ({ ...owned, topic: logical(owned.topic) })),
      });
  return wrapped;
}
