/** One realistic value of every top-level record, typed with the generated types (so they also pin those). */
import type { RecordTypes } from '../../index.js';

const origin = {
  userId: 'u-alice',
  deviceId: 'd-alice-phone',
  gatewayId: 'gw-1',
  requestId: 'req-42',
  receivedAtMs: 1_700_000_000_000,
};

const content = {
  body: null,
  envelopes: [
    {
      recipientUserId: 'u-bob',
      recipientDeviceId: 'd-bob-1',
      ciphertext: Buffer.from([1, 2, 3, 255]),
      envelopeType: 3,
    },
  ],
  attachments: [
    {
      attachmentId: 'att-1',
      mimeType: 'image/jpeg',
      sizeBytes: 123_456,
      sha256: Buffer.alloc(32, 7),
      fileName: 'cat.jpg',
    },
  ],
};

const inboxEntry: RecordTypes['chatmesh.inbox.InboxEntry'] = {
  userId: 'u-bob',
  inboxSeq: 17,
  dedupeKey: 'evt:c-1:5',
  chatId: 'c-1',
  createdAtMs: 1_700_000_000_100,
  item: {
    'chatmesh.inbox.ChatEventRef': {
      chatSeq: 5,
      kind: 'MESSAGE_RECEIVED',
      actorUserId: 'u-alice',
      actorDeviceId: 'd-alice-phone',
      clientMessageId: 'cm-1',
      serverTimeMs: 1_700_000_000_050,
      affectedUserIds: [],
    },
  },
};

export const SAMPLE_VALUES: { readonly [K in keyof RecordTypes]: RecordTypes[K] } = {
  'chatmesh.bus.DeadLetter': {
    originalTopic: 'chat.events',
    originalPartition: 3,
    originalOffset: '9007199254740993',
    originalKey: 'c-1',
    originalValue: Buffer.from([0, 0, 0, 0, 1, 2]),
    originalHeaders: { traceparent: '00-abc-def-01' },
    originalTimestampMs: 1_700_000_000_000,
    groupId: 'fan-out',
    errorCode: 'CM_ERR_SCHEMA_DECODE',
    errorMessage: 'corrupt body',
    attempts: 5,
    failedAtMs: 1_700_000_001_000,
  },
  'chatmesh.chat.ChatCommand': {
    chatId: 'c-1',
    origin,
    command: { 'chatmesh.chat.SendMessage': { clientMessageId: 'cm-1', content, afterClientMessageId: 'cm-0' } },
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  },
  'chatmesh.chat.ChatEvent': {
    chatId: 'c-1',
    seq: 5,
    serverTimeMs: 1_700_000_000_050,
    origin,
    event: {
      'chatmesh.chat.ChatCreated': {
        kind: 'GROUP',
        members: [
          { userId: 'u-alice', role: 'ADMIN' },
          { userId: 'u-bob', role: 'MEMBER' },
        ],
        name: 'Climbing',
        pictureAttachmentId: null,
      },
    },
  },
  'chatmesh.ephemeral.EphemeralEvent': {
    chatId: 'c-1',
    userId: 'u-alice',
    deviceId: 'd-alice-phone',
    gatewayId: 'gw-1',
    atMs: 1_700_000_000_000,
    signal: { typing: true, ttlMs: 5_000 },
  },
  'chatmesh.gateway.GatewayDelivery': {
    gatewayId: 'gw-1',
    userId: 'u-bob',
    deviceId: 'd-bob-1',
    createdAtMs: 1_700_000_000_200,
    payload: { 'chatmesh.gateway.InboxDelivery': { entry: inboxEntry, content } },
  },
  'chatmesh.inbox.InboxEntry': inboxEntry,
  'chatmesh.presence.PresenceEvent': {
    userId: 'u-bob',
    deviceId: 'd-bob-1',
    gatewayId: 'gw-1',
    connectionId: 'conn-9',
    atMs: 1_700_000_000_000,
    change: {
      'chatmesh.presence.DeviceStatusChange': { status: 'OFFLINE', ttlMs: 30_000, lastSeenMs: 1_699_999_999_000 },
    },
  },
  'chatmesh.push.PushRequest': {
    userId: 'u-bob',
    requestId: 'evt:c-1:5',
    chatId: 'c-1',
    unreadCount: 3,
    newMessageCount: 1,
    upToInboxSeq: 17,
    targets: [{ deviceId: 'd-bob-2', platform: 'APNS', token: null }],
    createdAtMs: 1_700_000_000_300,
  },
  'chatmesh.push.PushChannelCommand': {
    userId: 'u-bob',
    deviceId: 'd-bob-2',
    requestId: 'http:1',
    atMs: 1_700_000_000_350,
    change: {
      'chatmesh.push.RegisterPushChannel': {
        provider: 'APNS',
        token: 'ab'.repeat(32),
        apnsTopic: 'com.example.chat',
        apnsEnvironment: 'sandbox',
        endpoint: null,
        p256dh: null,
        auth: null,
      },
    },
  },
  'chatmesh.receipts.ReceiptReport': {
    chatId: 'c-1',
    userId: 'u-bob',
    deviceId: 'd-bob-1',
    gatewayId: 'gw-1',
    requestId: 'req-7',
    kind: 'READ',
    upToSeq: 5,
    reportedAtMs: 1_700_000_000_400,
  },
  'chatmesh.receipts.DeliveryFailed': {
    chatId: 'c-1',
    seq: 5,
    senderUserId: 'u-alice',
    recipientUserId: 'u-bob',
    sentAtMs: 1_700_000_000_000,
    failedAtMs: 1_702_592_000_000,
    failAfterMs: 2_592_000_000,
    messageEvent: Buffer.from([0, 0, 0, 0, 1, 2]),
  },
};

/** A command result, the other common gateway payload. */
export const SAMPLE_REJECTION: RecordTypes['chatmesh.gateway.GatewayDelivery'] = {
  gatewayId: 'gw-1',
  userId: 'u-mallory',
  deviceId: 'd-m',
  createdAtMs: 1_700_000_000_000,
  payload: {
    'chatmesh.gateway.CommandResult': {
      requestId: 'req-1',
      chatId: 'c-1',
      clientMessageId: 'cm-x',
      accepted: false,
      seq: null,
      serverTimeMs: null,
      reason: { code: 'CM_ERR_CHAT_NOT_FOUND', message: 'not a member', retriable: false },
    },
  },
};
