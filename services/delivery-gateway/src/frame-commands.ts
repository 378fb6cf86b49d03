import type { ClientFrame } from '@chatmesh/protocol';
import {
  TOPICS,
  type ChatCommand,
  type CommandOrigin,
  type EphemeralEvent,
  type PresenceEvent,
  type ReceiptReport,
  type TopicRecord,
} from '@chatmesh/schemas';

/**
 * Request ids the gateway makes up for frames that carry none of the client's (read and DELIVERED
 * reports, typing): `local:<connectionId>:<n>`. A refusal coming back with one is shown as an `error` frame.
 */
export const LOCAL_REQUEST_PREFIX = 'local:';

/** How long a typing indicator lasts without a refresh (the client refreshes every few seconds). */
export const TYPING_TTL_MS = 6_000;

/** The authenticated sender of a frame. */
export interface FrameSender {
  readonly userId: string;
  readonly deviceId: string;
  readonly gatewayId: string;
  readonly connectionId: string;
}

/** The topics client frames are produced to. */
type FrameTopic =
  | typeof TOPICS.chatCommands.name
  | typeof TOPICS.receipts.name
  | typeof TOPICS.ephemeral.name
  | typeof TOPICS.presenceEvents.name
  | typeof TOPICS.pushRegistrations.name;

/** One record the gateway produces for a client frame: its value is the record type of its topic. */
export type FrameRecord = {
  readonly [N in FrameTopic]: {
    readonly topic: N;
    readonly key: string;
    readonly value: TopicRecord<N>;
    /** The request id to echo in an `error` frame if producing fails. */
    readonly requestId?: string;
  };
}[FrameTopic];

type CommandFrame = Extract<
  ClientFrame,
  { type: 'send' | 'createChat' | 'updateChat' | 'addMembers' | 'removeMembers' | 'leaveChat' }
>;

function commandOf(frame: CommandFrame): ChatCommand['command'] {
  switch (frame.type) {
    case 'send':
      return {
        'chatmesh.chat.SendMessage': {
          clientMessageId: frame.clientMessageId,
          afterClientMessageId: frame.afterClientMessageId ?? null,
          content: {
            body: frame.body ?? null,
            envelopes: (frame.envelopes ?? []).map((e) => ({
              recipientUserId: e.userId,
              recipientDeviceId: e.deviceId,
              ciphertext: Buffer.from(e.ciphertext, 'base64'),
              envelopeType: e.envelopeType,
            })),
            attachments: (frame.attachments ?? []).map((a) => ({
              attachmentId: a.attachmentId,
              mimeType: a.mimeType,
              sizeBytes: a.sizeBytes,
              sha256: a.sha256 === undefined ? null : Buffer.from(a.sha256, 'base64'),
              fileName: a.fileName ?? null,
            })),
          },
        },
      };
    case 'createChat':
      return {
        'chatmesh.chat.CreateChat': {
          kind: frame.kind === 'group' ? 'GROUP' : 'DIRECT',
          memberUserIds: frame.members,
          name: frame.name ?? null,
          pictureAttachmentId: frame.pictureAttachmentId ?? null,
        },
      };
    case 'updateChat':
      return {
        'chatmesh.chat.UpdateChat': {
          name: frame.name ?? null,
          pictureAttachmentId: frame.pictureAttachmentId ?? null,
          clearPicture: frame.clearPicture ?? false,
        },
      };
    case 'addMembers':
      return { 'chatmesh.chat.AddMembers': { userIds: frame.userIds } };
    case 'removeMembers':
      return { 'chatmesh.chat.RemoveMembers': { userIds: frame.userIds } };
    case 'leaveChat':
      return { 'chatmesh.chat.LeaveChat': { reason: null } };
  }
}

/**
 * The record a client frame becomes, or null for frames the gateway answers itself (`ack`, `sync`,
 * `ping`). Identity always comes from the token (`sender`), never from the frame.
 * @param localRequestId names requests of frames that carry no request id (read receipts)
 */
export function frameToRecord(
  frame: ClientFrame,
  sender: FrameSender,
  receivedAtMs: number,
  localRequestId: () => string,
): FrameRecord | null {
  switch (frame.type) {
    case 'send':
    case 'createChat':
    case 'updateChat':
    case 'addMembers':
    case 'removeMembers':
    case 'leaveChat': {
      const origin: CommandOrigin = {
        userId: sender.userId,
        deviceId: sender.deviceId,
        gatewayId: sender.gatewayId,
        requestId: frame.requestId,
        receivedAtMs,
      };
      const value: ChatCommand = { chatId: frame.chatId, origin, command: commandOf(frame), traceparent: null };
      return { topic: TOPICS.chatCommands.name, key: frame.chatId, value, requestId: frame.requestId };
    }
    case 'read': {
      const value: ReceiptReport = {
        chatId: frame.chatId,
        userId: sender.userId,
        deviceId: sender.deviceId,
        gatewayId: sender.gatewayId,
        requestId: localRequestId(),
        kind: 'READ',
        upToSeq: frame.upToSeq,
        reportedAtMs: receivedAtMs,
      };
      return { topic: TOPICS.receipts.name, key: frame.chatId, value };
    }
    case 'typing': {
      const value: EphemeralEvent = {
        chatId: frame.chatId,
        userId: sender.userId,
        deviceId: sender.deviceId,
        gatewayId: sender.gatewayId,
        atMs: receivedAtMs,
        signal: { typing: frame.typing, ttlMs: TYPING_TTL_MS },
      };
      return { topic: TOPICS.ephemeral.name, key: frame.chatId, value };
    }
    case 'presenceSubscribe': {
      const value: PresenceEvent = {
        userId: sender.userId,
        deviceId: sender.deviceId,
        gatewayId: sender.gatewayId,
        connectionId: sender.connectionId,
        atMs: receivedAtMs,
        change: { 'chatmesh.presence.PresenceSubscribe': { targetUserIds: frame.userIds, replace: true } },
      };
      return { topic: TOPICS.presenceEvents.name, key: sender.userId, value };
    }
    case 'ack':
    case 'sync':
    case 'ping':
      return null;
  }
}

/** A device's connection change for presence.events (ONLINE on open, OFFLINE on close). */
export function deviceStatusEvent(
  sender: FrameSender,
  status: 'ONLINE' | 'OFFLINE',
  atMs: number,
  ttlMs: number,
): FrameRecord {
  const value: PresenceEvent = {
    userId: sender.userId,
    deviceId: sender.deviceId,
    gatewayId: sender.gatewayId,
    connectionId: sender.connectionId,
    atMs,
    change: {
      'chatmesh.presence.DeviceStatusChange': { status, ttlMs, lastSeenMs: status === 'OFFLINE' ? atMs : null },
    },
  };
  return { topic: TOPICS.presenceEvents.name, key: sender.userId, value };
}

/** A DELIVERED report for receipts: the device acked messages of the chat up to `upToSeq`. */
export function deliveredReport(
  sender: FrameSender,
  chatId: string,
  upToSeq: number,
  atMs: number,
  requestId: string,
): FrameRecord {
  const value: ReceiptReport = {
    chatId,
    userId: sender.userId,
    deviceId: sender.deviceId,
    gatewayId: sender.gatewayId,
    requestId,
    kind: 'DELIVERED',
    upToSeq,
    reportedAtMs: atMs,
  };
  return { topic: TOPICS.receipts.name, key: chatId, value, requestId };
}

/** An HTTP API change for presence (the device list's and settings' single writer), keyed by the user. */
export function accountEvent(
  sender: { userId: string; deviceId: string; gatewayId: string },
  requestId: string,
  atMs: number,
  change: { removedDeviceId: string } | { readReceipts: boolean | null; presenceVisible: boolean | null },
): FrameRecord {
  const value: PresenceEvent = {
    userId: sender.userId,
    deviceId: sender.deviceId,
    gatewayId: sender.gatewayId,
    // Not a socket: the HTTP request's own id, so presence never mistakes it for a connection.
    connectionId: requestId,
    atMs,
    change:
      'removedDeviceId' in change
        ? { 'chatmesh.presence.DeviceRemoval': { removedDeviceId: change.removedDeviceId, requestId } }
        : {
            'chatmesh.presence.PrivacyChange': {
              readReceipts: change.readReceipts,
              presenceVisible: change.presenceVisible,
            },
          },
  };
  return { topic: TOPICS.presenceEvents.name, key: sender.userId, value, requestId };
}
