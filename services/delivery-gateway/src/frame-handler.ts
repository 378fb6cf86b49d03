import { isChatmeshError } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import { parseClientFrame, ProtocolError } from '@chatmesh/protocol';
import { TokenBucket, type RateLimiter } from '@chatmesh/rate-limit';
import type { TypedTopics } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import type { BroadcastFollows } from './broadcast-follows.js';
import type { DeliveredReporter } from './delivered-reporter.js';
import { checkEnvelopeDevices, type DeviceListMismatch } from './device-list-check.js';
import { frameToRecord, type FrameRecord } from './frame-commands.js';
import type { GATEWAY_METRICS } from './metrics.js';
import type { Session } from './session.js';
import type { SessionOutput } from './session-output.js';

/** What {@link FrameHandler} needs. */
export interface FrameHandlerDeps {
  readonly store: ChatStore;
  readonly typed: TypedTopics;
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  readonly output: SessionOutput;
  readonly follows: BroadcastFollows;
  readonly delivered: DeliveredReporter;
  /** Per-connection buckets (always in memory). */
  readonly connectionLimiter: RateLimiter;
  /** Per-user buckets (Redis in stack mode, so shared by every gateway). */
  readonly userLimiter: RateLimiter;
  readonly typingPerMinute: number;
  readonly typingBurst: number;
  /** Counted for `health()`. */
  readonly counts: { commandsProduced: number };
}

/**
 * One client frame of a socket, from its text to its effect: the rate limits, parsing, the frames the gateway
 * answers itself (`ping`, `ack`, `sync`), the typing throttle, the device-list check of encrypted sends, and the
 * record the others become on Kafka (`frame-commands.ts`).
 */
export class FrameHandler {
  constructor(private readonly deps: FrameHandlerDeps) {}

  async handleText(session: Session, text: string, receivedAtMs: number): Promise<void> {
    if (session.closed) return;
    const { metrics, output, store } = this.deps;
    // Every frame, valid or not, counts against the connection's own bucket (in memory) first.
    if (!(await this.deps.connectionLimiter.take(session.connectionId)).allowed) return this.rateLimited(session);
    let frame;
    try {
      frame = parseClientFrame(text);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      metrics.gatewayFramesInTotal.inc({ type: 'invalid' });
      output.errorFrame(session, error, error.requestId);
      output.violation(session);
      return;
    }
    metrics.gatewayFramesInTotal.inc({ type: frame.type });
    // Acks and pings are the device's own bookkeeping, as frequent as the messages it receives (each device of
    // a busy big group acks every few tens of milliseconds): the connection's bucket bounds them, and the
    // user's shared bucket (a Redis round trip in stack mode) is kept for frames that make others work.
    if (frame.type !== 'ack' && frame.type !== 'ping' && !(await this.userWithinRate(session)))
      return this.rateLimited(session);
    switch (frame.type) {
      case 'ping':
        output.sendFrames(session, [
          { type: 'pong', ...(frame.nonce === undefined ? {} : { nonce: frame.nonce }), serverTimeMs: Date.now() },
        ]);
        return;
      case 'ack': {
        // Never past what this socket sent: an ack beyond it would skip entries the device has not seen.
        const upTo = Math.min(frame.upToInboxSeq, session.stream.lastSent);
        // Acks repeat the inbox position while only broadcast chats move (the field is required): a write
        // per repeat would be a Cassandra write per device every few tens of milliseconds in a big group.
        if (upTo > session.stream.acked) {
          await store.cursors.advance(session.userId, session.deviceId, upTo);
          session.stream.markAcked(upTo);
          await this.reportDelivered(session, upTo, receivedAtMs);
        }
        if (frame.chats !== undefined) await this.deps.follows.ackChats(session, frame.chats, receivedAtMs);
        return;
      }
      case 'sync':
        if (frame.chats !== undefined) {
          await this.deps.follows.syncChats(session, frame.chats);
          if (frame.fromInboxSeq === undefined) return;
        }
        session.stream.sync(frame.fromInboxSeq ?? (await store.cursors.get(session.userId, session.deviceId)));
        return;
      case 'typing':
        if (!this.takeTypingToken(session, receivedAtMs)) {
          output.errorFrame(session, {
            code: 'CM_ERR_PROTOCOL_RATE_LIMITED',
            message: 'too many typing frames; send one every few seconds',
            retriable: true,
          });
          // A burst is refused quietly; a flood counts against the connection (every 10th refusal).
          if (session.typing!.refused % 10 === 0) output.violation(session);
          return;
        }
        break;
      default:
        break;
    }
    if (frame.type === 'send' && frame.envelopes !== undefined && frame.envelopes.length > 0) {
      const mismatch = await checkEnvelopeDevices(store, frame.chatId, session, frame.envelopes);
      if (mismatch !== null) return this.deviceListRefused(session, frame, mismatch);
    }
    const record = frameToRecord(frame, session, receivedAtMs, () => session.nextLocalRequestId());
    if (record) await this.produce(session, record);
  }

  /** A frame failed unexpectedly: the socket gets an `error` frame and stays open. One function per call. */
  onFrameFailed(session: Session): (error: unknown) => void {
    return (error) => {
      this.deps.logger.warn({ err: error }, 'a client frame failed');
      if (!session.closed) {
        this.deps.output.errorFrame(
          session,
          isChatmeshError(error)
            ? error
            : { code: 'CM_ERR_COMMON_INTERNAL', message: 'internal error; retry', retriable: true },
        );
      }
    };
  }

  private rateLimited(session: Session): void {
    this.deps.output.errorFrame(session, {
      code: 'CM_ERR_PROTOCOL_RATE_LIMITED',
      message: 'too many frames; slow down',
      retriable: true,
    });
    this.deps.output.violation(session);
  }

  /** The user's shared bucket (Redis in stack mode), after the connection's own one let the frame in. */
  private async userWithinRate(session: Session): Promise<boolean> {
    try {
      return (await this.deps.userLimiter.take(session.userId)).allowed;
    } catch (error) {
      // Fail open: Redis trouble must not stop every conversation; the per-connection bucket still holds.
      this.deps.logger.warn({ err: error }, 'the shared rate limiter failed; letting the frame through');
      return true;
    }
  }

  /** Takes a typing token of the connection; false when its bucket is empty. */
  private takeTypingToken(session: Session, nowMs: number): boolean {
    const bucket = (session.typing ??= {
      tokens: new TokenBucket({ ratePerSecond: this.deps.typingPerMinute / 60, burst: this.deps.typingBurst }, nowMs),
      refused: 0,
    });
    if (bucket.tokens.take(1, nowMs).allowed) return true;
    bucket.refused++;
    return false;
  }

  /** The ack covered messages by other users: one DELIVERED report per chat, with the highest seq. */
  private async reportDelivered(session: Session, upToInboxSeq: number, atMs: number): Promise<void> {
    const byChat = session.stream.takeDelivered(upToInboxSeq);
    if (byChat === null) return;
    await Promise.all(
      [...byChat].map(([chatId, upToSeq]) => this.deps.delivered.report(session, chatId, upToSeq, atMs)),
    );
  }

  /** A send whose envelopes miss or exceed the device lists: refused here, with the devices to fix. */
  private deviceListRefused(
    session: Session,
    frame: { requestId: string; chatId: string; clientMessageId: string },
    mismatch: DeviceListMismatch,
  ): void {
    const code = 'CM_ERR_E2E_DEVICE_LIST_MISMATCH';
    this.deps.metrics.gatewayFrameErrorsTotal.inc({ code });
    this.deps.output.sendFrames(session, [
      {
        type: 'reject',
        requestId: frame.requestId,
        chatId: frame.chatId,
        clientMessageId: frame.clientMessageId,
        code,
        message: "the envelopes do not match the recipients' current devices; fix the sessions and retry",
        retriable: true,
        missingDevices: mismatch.missingDevices,
        staleDevices: mismatch.staleDevices,
      },
    ]);
  }

  private async produce(session: Session, record: FrameRecord): Promise<void> {
    try {
      await this.deps.typed.send(record.topic, record.key, record.value);
      this.deps.counts.commandsProduced++;
      if (record.topic === TOPICS.receipts.name) this.deps.metrics.gatewayReceiptReportsTotal.inc({ kind: 'READ' });
    } catch (error) {
      this.deps.logger.warn({ err: error, topic: record.topic }, 'could not produce a client frame');
      this.deps.output.errorFrame(
        session,
        isChatmeshError(error)
          ? error
          : { code: 'CM_ERR_COMMON_INTERNAL', message: 'the frame could not be forwarded; retry', retriable: true },
        record.requestId,
      );
    }
  }
}
