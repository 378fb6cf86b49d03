import type { Bus, OutgoingRecord, Subscription } from '@chatmesh/bus';
import { subscribeTyped } from '@chatmesh/runtime';
import {
  gatewayDeliveriesTopic,
  TOPICS,
  valueSubjectOf,
  type ChatCommand,
  type CommandResult,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { BenchError } from '../src/index.js';

/** The answer to one command, with its round trip. */
export interface AnsweredCommand {
  readonly result: CommandResult;
  /** From just before the command was produced to the CommandResult's arrival. */
  readonly latencyMs: number;
  /** When the answer arrived (performance.now()). */
  readonly answeredAtMs: number;
}

/** The benchmark's stand-in for a delivery gateway. */
export interface GatewayDriver {
  readonly gatewayId: string;
  /** Produces `command` to chat.commands and resolves with its CommandResult. @throws BenchError CM_ERR_BENCH_TIMEOUT */
  send(command: ChatCommand): Promise<AnsweredCommand>;
  /** InboxDelivery records received so far (devices registered online on this gateway). */
  inboxDeliveries(): number;
  stop(): Promise<void>;
}

/** Commands produced in one request at most. */
const MAX_BATCH_RECORDS = 500;

/**
 * Starts a driver playing gateway `gatewayId`: it produces Avro ChatCommands to `chat.commands` (encoded
 * with the topic's value subject, as the typed producer does) and consumes its own
 * `gateway.<id>.deliveries` topic for CommandResults and InboxDeliveries. The caller creates that topic
 * first (the gateway owns it).
 *
 * Sends are queued and produced one request at a time, each carrying every command queued meanwhile:
 * concurrent `send()` calls on one kafkajs idempotent producer get OUT_OF_ORDER_SEQUENCE_NUMBER and can
 * lose records (tulios/kafkajs#598, #1005), and the typed producer sends one record per call.
 */
export async function startGatewayDriver(options: {
  bus: Bus;
  codec: SchemaCodec;
  gatewayId: string;
  ackTimeoutMs: number;
}): Promise<GatewayDriver> {
  const { bus, codec, gatewayId, ackTimeoutMs } = options;
  const commandSubject = valueSubjectOf(TOPICS.chatCommands.name);
  const queue: Array<{ record: OutgoingRecord; done: (error?: unknown) => void }> = [];
  let flushing = false;
  const flush = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, MAX_BATCH_RECORDS);
        try {
          await bus.producer.send(
            TOPICS.chatCommands.name,
            batch.map((item) => item.record),
          );
          for (const item of batch) item.done();
        } catch (error) {
          for (const item of batch) item.done(error);
        }
      }
    } finally {
      flushing = false;
    }
  };
  const produce = async (command: ChatCommand): Promise<void> => {
    const value = await codec.encode(commandSubject, command);
    await new Promise<void>((resolve, reject) => {
      queue.push({
        record: { key: command.chatId, value },
        done: (error) => (error === undefined ? resolve() : reject(error)),
      });
      void flush();
    });
  };
  const pending = new Map<string, { resolve: (answer: AnsweredCommand) => void; sentAtMs: number }>();
  let deliveries = 0;
  const subscription: Subscription = await subscribeTyped({
    bus,
    codec,
    groupId: `${gatewayId}.driver`,
    topics: [gatewayDeliveriesTopic(gatewayId).name],
    partitionsConcurrently: 4,
    handler: async (delivery) => {
      const payload = delivery.payload;
      if ('chatmesh.gateway.InboxDelivery' in payload) {
        deliveries++;
      } else if ('chatmesh.gateway.CommandResult' in payload) {
        const result = payload['chatmesh.gateway.CommandResult'];
        const waiter = pending.get(result.requestId);
        if (!waiter) return; // a late answer to a command that already timed out
        pending.delete(result.requestId);
        const now = performance.now();
        waiter.resolve({ result, latencyMs: now - waiter.sentAtMs, answeredAtMs: now });
      }
    },
  });
  await subscription.ready;

  return {
    gatewayId,
    async send(command) {
      const { requestId } = command.origin;
      let timer: NodeJS.Timeout | undefined;
      const answered = new Promise<AnsweredCommand>((resolve, reject) => {
        pending.set(requestId, { resolve, sentAtMs: performance.now() });
        timer = setTimeout(() => {
          pending.delete(requestId);
          reject(
            new BenchError(
              'CM_ERR_BENCH_TIMEOUT',
              `no CommandResult for request ${requestId} within ${ackTimeoutMs} ms`,
              {
                context: { phase: 'sends', requestId, chatId: command.chatId },
              },
            ),
          );
        }, ackTimeoutMs);
      });
      try {
        await produce(command);
        return await answered;
      } catch (error) {
        pending.delete(requestId);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    inboxDeliveries: () => deliveries,
    async stop() {
      await subscription.stop();
    },
  };
}
