import type { Bus, Subscription } from '@chatmesh/bus';
import { createTypedProducer, subscribeTyped } from '@chatmesh/runtime';
import { gatewayDeliveriesTopic, TOPICS, type ChatCommand, type CommandResult, type GatewayDelivery, type SchemaCodec } from '@chatmesh/schemas';
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

/**
 * Starts a driver playing gateway `gatewayId`: it produces ChatCommands with the typed producer (as the
 * delivery gateway does) and consumes its own `gateway.<id>.deliveries` topic for CommandResults and
 * InboxDeliveries. The caller creates that topic first (the gateway owns it).
 */
export async function startGatewayDriver(options: {
  bus: Bus;
  codec: SchemaCodec;
  gatewayId: string;
  ackTimeoutMs: number;
}): Promise<GatewayDriver> {
  const { bus, codec, gatewayId, ackTimeoutMs } = options;
  const producer = createTypedProducer(bus, codec);
  const pending = new Map<string, { resolve: (answer: AnsweredCommand) => void; sentAtMs: number }>();
  let deliveries = 0;
  const subscription: Subscription = await subscribeTyped<GatewayDelivery>({
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
            new BenchError('CM_ERR_BENCH_TIMEOUT', `no CommandResult for request ${requestId} within ${ackTimeoutMs} ms`, {
              context: { phase: 'sends', requestId, chatId: command.chatId },
            }),
          );
        }, ackTimeoutMs);
      });
      try {
        await producer.send<ChatCommand>(TOPICS.chatCommands.name, command.chatId, command);
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
