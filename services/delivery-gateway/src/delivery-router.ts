import { isErrorCode, type ErrorCode } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import { CLOSE_CODES, type ServerFrame } from '@chatmesh/protocol';
import { matchBranch, type GatewayDelivery } from '@chatmesh/schemas';
import { LOCAL_REQUEST_PREFIX } from './frame-commands.js';
import { renderStatusUpdate } from './inbox-renderer.js';
import type { GATEWAY_METRICS } from './metrics.js';
import type { Session } from './session.js';
import type { SessionOutput } from './session-output.js';
import type { SessionRegistry } from './session-registry.js';

/** What one delivery does to each of its target sessions. */
type DeliveryAction = (session: Session) => void;

/** A refusal as a service put it on the delivery topic (`RejectReason`: its code is a string on the wire). */
type RelayedReason = { readonly code: string; readonly message: string; readonly retriable: boolean } | null;

/** A refusal as the gateway sends it: a code of the table. */
interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retriable: boolean;
}

/**
 * The records of `gateway.<id>.deliveries`: each goes to the devices it names that are connected here, as an inbox
 * entry (through the session's {@link InboxStream}), a command's answer (`ack` / `reject` / `error`), a notice
 * (`typing`, `presence`, `identityKeyChanged`, `receipt`) or a session end ordered by presence (4011 / 4012).
 */
export class DeliveryRouter {
  constructor(
    private readonly deps: {
      readonly sessions: SessionRegistry;
      readonly output: SessionOutput;
      readonly logger: Logger;
      readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
      /** Counted for `health()`. */
      readonly counts: { deliveries: number };
    },
  ) {}

  route(delivery: GatewayDelivery): void {
    this.deps.counts.deliveries++;
    const targets = this.targetsOf(delivery);
    if (targets.length === 0) {
      // Not connected here (any more): the entry is in the store; the device replays it from its cursor.
      this.deps.metrics.gatewayDeliveriesDroppedTotal.inc({ reason: 'not_connected' });
      return;
    }
    const action = this.actionFor(delivery.payload);
    for (const session of targets) action(session);
  }

  private targetsOf(delivery: GatewayDelivery): readonly Session[] {
    if (delivery.deviceId === null) return this.deps.sessions.sessionsOf(delivery.userId);
    const session = this.deps.sessions.deviceSession(delivery.userId, delivery.deviceId);
    return session ? [session] : [];
  }

  private actionFor(payload: GatewayDelivery['payload']): DeliveryAction {
    const { output, logger } = this.deps;
    const frame =
      (render: ServerFrame): DeliveryAction =>
      (session) =>
        output.sendFrames(session, [render]);
    return matchBranch<GatewayDelivery['payload'], DeliveryAction>(payload, {
      'chatmesh.gateway.InboxDelivery': (inbox) => (session) => session.stream.deliver(inbox),
      'chatmesh.gateway.CommandResult': (result) => {
        if (result.requestId.startsWith(LOCAL_REQUEST_PREFIX)) {
          // A refused frame that carries no request id of the client's (read, typing): an error frame.
          const refusal = this.refusalOf(result.reason, 'refused');
          return (session) => output.errorFrame(session, refusal);
        }
        return frame(
          result.accepted
            ? {
                type: 'ack',
                requestId: result.requestId,
                chatId: result.chatId,
                clientMessageId: result.clientMessageId,
                seq: result.seq ?? 0,
                serverTimeMs: result.serverTimeMs ?? 0,
              }
            : {
                type: 'reject',
                requestId: result.requestId,
                chatId: result.chatId,
                clientMessageId: result.clientMessageId,
                ...this.refusalOf(result.reason, 'rejected'),
              },
        );
      },
      'chatmesh.gateway.TypingNotice': (notice) =>
        frame({
          type: 'typing',
          chatId: notice.chatId,
          userId: notice.typingUserId,
          typing: notice.typing,
          expiresAtMs: notice.expiresAtMs,
        }),
      'chatmesh.gateway.PresenceNotice': (notice) =>
        frame({ type: 'presence', userId: notice.subjectUserId, online: notice.online, lastSeenMs: notice.lastSeenMs }),
      'chatmesh.gateway.IdentityKeyNotice': (notice) =>
        frame({
          type: 'identityKeyChanged',
          userId: notice.subjectUserId,
          deviceId: notice.deviceId,
          identityKey: Buffer.from(notice.identityKey).toString('base64'),
          atMs: notice.atMs,
        }),
      'chatmesh.receipts.MessageStatusUpdate': (update) => frame(renderStatusUpdate(update)),
      'chatmesh.gateway.SessionControl': (control) => (session) => {
        logger.info({ reasonCode: control.reasonCode }, 'presence ended a session');
        output.close(
          session,
          control.reasonCode === 'CM_ERR_DEVICE_LIMIT' ? CLOSE_CODES.DEVICE_LIMIT : CLOSE_CODES.DEVICE_REMOVED,
        );
      },
    });
  }

  /**
   * The code a service relayed, checked against the table: a code this gateway does not know (a newer service
   * ahead of it) goes out as `CM_ERR_COMMON_INTERNAL`, with the original code in the message and a warning here.
   */
  private refusalOf(reason: RelayedReason, fallbackMessage: string): Refusal {
    if (reason === null) return { code: 'CM_ERR_COMMON_INTERNAL', message: fallbackMessage, retriable: false };
    if (isErrorCode(reason.code)) return { code: reason.code, message: reason.message, retriable: reason.retriable };
    this.deps.logger.warn({ relayedCode: reason.code }, 'a service refused a command with a code not in the table');
    return {
      code: 'CM_ERR_COMMON_INTERNAL',
      message: `${reason.code}: ${reason.message}`,
      retriable: reason.retriable,
    };
  }
}
