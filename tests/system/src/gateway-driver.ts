import { randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '@chatmesh/bus';
import { ensureTopics, subscribeTyped, createTypedProducer, type TypedProducer } from '@chatmesh/runtime';
import {
  gatewayDeliveriesTopic,
  TOPICS,
  type ChatCommand,
  type CommandResult,
  type GatewayDelivery,
  type InboxDelivery,
  type MessageContent,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';

/** Who sends a command: a user's device behind this gateway. */
export interface Sender {
  readonly userId: string;
  readonly deviceId: string;
}

/** The command part of a ChatCommand. */
export type CommandBody = ChatCommand['command'];

/** What one logical command (all its attempts) came to. */
export interface CommandOutcome {
  /** The first result received (accepted or rejected); null if none came before the deadline. */
  readonly result: CommandResult | null;
  /** Every result received for any attempt, in arrival order (a retried send may be answered more than once). */
  readonly results: readonly CommandResult[];
  /** How many times the command was produced. */
  readonly attempts: number;
}

/** Retry policy of {@link GatewayDriver.command}. */
export interface RetryPolicy {
  /** An attempt not answered within this long is produced again (same client message id). */
  readonly ackTimeoutMs: number;
  /** Give up (result null) after this long in all. */
  readonly deadlineMs: number;
  /** Also retry rejections marked retriable (rate limits), after `ackTimeoutMs`. @default true */
  readonly retryRetriable?: boolean;
}

interface PendingCommand {
  readonly results: CommandResult[];
  wake: (() => void) | null;
}

/**
 * Plays a delivery gateway: produces typed `ChatCommand`s to `chat.commands` (keyed by chat id) and reads
 * the `CommandResult`s and `InboxDelivery`s that arrive on its own `gateway.<id>.deliveries` topic, which
 * it creates (the gateway owns its topic). Commands are retried the way the SDK retries: a send keeps its
 * client message id (each attempt under a new request id), any other command keeps its request id, so
 * ingest deduplicates the retry.
 */
export class GatewayDriver {
  readonly gatewayId: string;
  readonly #producer: TypedProducer;
  readonly #subscription: Subscription;
  readonly #byRequest = new Map<string, PendingCommand>();
  readonly #inboxDeliveries: Array<{ readonly delivery: GatewayDelivery; readonly inbox: InboxDelivery }> = [];
  readonly #counters = { produced: 0, retries: 0, results: 0 };

  private constructor(gatewayId: string, producer: TypedProducer, subscription: Subscription) {
    this.gatewayId = gatewayId;
    this.#producer = producer;
    this.#subscription = subscription;
  }

  /** Creates the gateway's delivery topic and starts reading it. */
  static async start(options: { bus: Bus; codec: SchemaCodec; gatewayId?: string }): Promise<GatewayDriver> {
    const { bus, codec } = options;
    const gatewayId = options.gatewayId ?? randomName('sysgw');
    const topic = gatewayDeliveriesTopic(gatewayId);
    // On a broker that just started, createTopics may fail for a moment while metadata settles
    // (kafkajs: UNKNOWN_TOPIC_OR_PARTITION): it is idempotent, so try again until it goes through.
    await waitFor(async () => (await ensureTopics(bus, codec, [topic, TOPICS.chatCommands])).length > 0, {
      description: `topic ${topic.name}`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    // Deliveries may arrive before the driver object exists; they wait in `early`.
    const holder: { driver?: GatewayDriver } = {};
    const early: GatewayDelivery[] = [];
    const subscription = await subscribeTyped({
      bus,
      codec,
      groupId: randomName('sysgw-reader'),
      topics: [topic.name],
      fromBeginning: true,
      handler: async (delivery) => {
        if (holder.driver) holder.driver.#onDelivery(delivery);
        else early.push(delivery);
      },
    });
    const driver = new GatewayDriver(gatewayId, createTypedProducer(bus, codec), subscription);
    for (const delivery of early) driver.#onDelivery(delivery);
    holder.driver = driver;
    await subscription.ready;
    return driver;
  }

  /** Counts for the run's summary line. */
  get counters(): Readonly<{ produced: number; retries: number; results: number }> {
    return { ...this.#counters };
  }

  /** Every InboxDelivery this gateway received so far. */
  inboxDeliveries(): ReadonlyArray<{ readonly delivery: GatewayDelivery; readonly inbox: InboxDelivery }> {
    return this.#inboxDeliveries;
  }

  #onDelivery(delivery: GatewayDelivery): void {
    const payload = delivery.payload;
    if ('chatmesh.gateway.CommandResult' in payload) {
      const result = payload['chatmesh.gateway.CommandResult'];
      this.#counters.results++;
      const pending = this.#byRequest.get(result.requestId);
      if (!pending) return;
      pending.results.push(result);
      pending.wake?.();
    } else if ('chatmesh.gateway.InboxDelivery' in payload) {
      this.#inboxDeliveries.push({ delivery, inbox: payload['chatmesh.gateway.InboxDelivery'] });
    }
  }

  /** Produces one attempt of a command under a fresh request id. */
  async #produce(
    sender: Sender,
    chatId: string,
    command: CommandBody,
    pending: PendingCommand,
    requestId: string,
  ): Promise<void> {
    this.#byRequest.set(requestId, pending);
    const value: ChatCommand = {
      chatId,
      origin: { ...sender, gatewayId: this.gatewayId, requestId, receivedAtMs: Date.now() },
      traceparent: null,
      command,
    };
    this.#counters.produced++;
    await this.#producer.send(TOPICS.chatCommands.name, chatId, value);
  }

  /**
   * Sends a command and waits for its result, producing it again (same body, so the same client message
   * id for a send) whenever an attempt stays unanswered for `ackTimeoutMs`.
   */
  async command(
    sender: Sender,
    chatId: string,
    command: CommandBody,
    policy: RetryPolicy,
    /** Reuse a request id (a device resending a frame it already sent). @default a fresh one */
    requestId?: string,
  ): Promise<CommandOutcome> {
    const pending: PendingCommand = { results: [], wake: null };
    const deadline = Date.now() + policy.deadlineMs;
    // A send is deduplicated by its client message id, so each attempt gets a fresh request id (proving
    // that is enough); any other command is deduplicated by its request id, so its attempts share one.
    const sharedRequestId = requestId ?? ('chatmesh.chat.SendMessage' in command ? null : `req-${randomUUID()}`);
    let attempts = 0;
    for (;;) {
      if (attempts > 0) this.#counters.retries++;
      attempts++;
      try {
        await this.#produce(sender, chatId, command, pending, sharedRequestId ?? `req-${randomUUID()}`);
      } catch {
        // A producer failure is an unanswered attempt: the next one retries it.
      }
      const waitMs = Math.min(policy.ackTimeoutMs, Math.max(0, deadline - Date.now()));
      await this.#waitForResult(pending, waitMs);
      const first = pending.results[0];
      const settled =
        first !== undefined && (first.accepted || !(policy.retryRetriable ?? true) || first.reason?.retriable !== true);
      if (settled) return { result: first, results: pending.results, attempts };
      if (first !== undefined) pending.results.length = 0; // a retriable rejection: try again
      if (Date.now() >= deadline) return { result: null, results: pending.results, attempts };
    }
  }

  #waitForResult(pending: PendingCommand, waitMs: number): Promise<void> {
    if (pending.results.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done(): void {
        clearTimeout(timer);
        pending.wake = null;
        resolve();
      }
      pending.wake = done;
    });
  }

  /** A text message body. */
  static text(body: string): MessageContent {
    return { body, envelopes: [], attachments: [] };
  }

  async stop(): Promise<void> {
    await this.#subscription.stop();
  }
}
