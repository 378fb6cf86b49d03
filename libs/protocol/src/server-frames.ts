/**
 * Frames the gateway sends (protocol version 3). Frames that come from a device's inbox carry
 * `inboxSeq`: the device acks up to it, and on reconnect the gateway replays everything after the
 * device's cursor, in order, before live frames. Chat frames of a broadcast chat (a big group, fanned
 * out once per gateway instead of once per member) carry no `inboxSeq`: the device acks its position in
 * the chat (`ack.chats`) and the gateway resumes each broadcast chat from that position. The SDK
 * validates every frame against these schemas.
 */
import { z } from 'zod';
import { attachmentSchema, envelopeSchema } from './client-frames.js';

const seq = z.number().int().min(0);

/** The protocol version the gateway announces in `hello`. */
export const PROTOCOL_VERSION = 3;
const actor = z.strictObject({ userId: z.string(), deviceId: z.string() });

/** First frame on every connection. */
export const helloFrameSchema = z.strictObject({
  type: z.literal('hello'),
  /**
   * 2: chat frames of broadcast chats carry no `inboxSeq` and are acked per chat. 3: `syncGap` (inbox entries
   * that expired before the device came back are named, never skipped in silence).
   */
  protocol: z.literal(PROTOCOL_VERSION),
  userId: z.string(),
  deviceId: z.string(),
  /** The device's stored cursor: the replay that follows starts after it. */
  cursor: seq,
  serverTimeMs: z.number(),
});

const inboxFields = {
  /** The position in this user's inbox; ack up to it. Absent on frames of broadcast chats (ack those per chat). */
  inboxSeq: seq.optional(),
  chatId: z.string(),
  /** The chat's sequence number: per-chat order, gaps detectable. */
  seq,
  by: actor,
  serverTimeMs: z.number(),
};

/** A message (the seeds' messageReceived). */
export const messageReceivedFrameSchema = z.strictObject({
  type: z.literal('messageReceived'),
  ...inboxFields,
  clientMessageId: z.string(),
  body: z.string().nullable(),
  /** Only the envelopes addressed to this device. */
  envelopes: z.array(envelopeSchema),
  attachments: z.array(attachmentSchema),
});

/** One attachment of a received message (the seeds' newAttachment); follows its messageReceived. */
export const newAttachmentFrameSchema = z.strictObject({
  type: z.literal('newAttachment'),
  inboxSeq: seq.optional(),
  chatId: z.string(),
  seq,
  attachment: attachmentSchema,
});

const member = z.strictObject({ userId: z.string(), role: z.enum(['admin', 'member']) });

export const chatCreatedFrameSchema = z.strictObject({
  type: z.literal('chatCreated'),
  ...inboxFields,
  kind: z.enum(['direct', 'group']),
  members: z.array(member),
  name: z.string().nullable(),
  pictureAttachmentId: z.string().nullable(),
});

export const chatUpdatedFrameSchema = z.strictObject({
  type: z.literal('chatUpdated'),
  ...inboxFields,
  name: z.string().nullable(),
  pictureAttachmentId: z.string().nullable(),
  pictureCleared: z.boolean(),
});

export const membersAddedFrameSchema = z.strictObject({
  type: z.literal('membersAdded'),
  ...inboxFields,
  members: z.array(member),
});

export const membersRemovedFrameSchema = z.strictObject({
  type: z.literal('membersRemoved'),
  ...inboxFields,
  userIds: z.array(z.string()),
  reason: z.enum(['removed', 'left']),
});

/** A command was accepted: stored once with this chat sequence number (a retry gets the same answer). */
export const ackResultFrameSchema = z.strictObject({
  type: z.literal('ack'),
  requestId: z.string(),
  chatId: z.string(),
  clientMessageId: z.string().nullable(),
  seq,
  serverTimeMs: z.number(),
});

/** A command was refused; nothing was stored. Retry only when `retriable`. */
const userDevicesSchema = z.strictObject({ userId: z.string(), deviceIds: z.array(z.string()) });

export const rejectFrameSchema = z.strictObject({
  type: z.literal('reject'),
  requestId: z.string(),
  chatId: z.string(),
  clientMessageId: z.string().nullable(),
  code: z.string(),
  message: z.string(),
  retriable: z.boolean(),
  /** CM_ERR_E2E_DEVICE_LIST_MISMATCH: current devices that got no envelope (encrypt for them too). */
  missingDevices: z.array(userDevicesSchema).optional(),
  /** CM_ERR_E2E_DEVICE_LIST_MISMATCH: devices that are gone or have no keys (drop their sessions). */
  staleDevices: z.array(userDevicesSchema).optional(),
});

/** A message state change for the sender (issue 7): SENT, DELIVERED, READ or FAILED, up to a seq. */
export const receiptFrameSchema = z.strictObject({
  type: z.literal('receipt'),
  inboxSeq: seq.optional(),
  chatId: z.string(),
  fromSeq: seq,
  upToSeq: seq,
  status: z.enum(['sent', 'delivered', 'read', 'failed']),
  byUserId: z.string().nullable(),
  atMs: z.number(),
});

/**
 * The user read a chat up to `upToSeq` on another of their devices (or this one): clear its unread
 * state here too. Comes from the user's own inbox, so a device that was offline catches up.
 */
export const readPointerFrameSchema = z.strictObject({
  type: z.literal('readPointer'),
  inboxSeq: seq,
  chatId: z.string(),
  upToSeq: seq,
  byDeviceId: z.string(),
});

export const typingNoticeFrameSchema = z.strictObject({
  type: z.literal('typing'),
  chatId: z.string(),
  userId: z.string(),
  typing: z.boolean(),
  expiresAtMs: z.number(),
});

export const presenceFrameSchema = z.strictObject({
  type: z.literal('presence'),
  userId: z.string(),
  online: z.boolean(),
  lastSeenMs: z.number().nullable(),
});

/**
 * A device of a contact (a member of one of your direct chats) or one of your own other devices has a new identity
 * key: the safety number changed (end-to-end encryption, docs/e2e.md). Only online devices get it.
 */
export const identityKeyChangedFrameSchema = z.strictObject({
  type: z.literal('identityKeyChanged'),
  userId: z.string(),
  deviceId: z.string(),
  /** Base64 of the new serialized identity public key. */
  identityKey: z.string(),
  atMs: z.number(),
});

/** The replay after the cursor is complete; frames from here on are live. */
export const syncDoneFrameSchema = z.strictObject({ type: z.literal('syncDone'), upToInboxSeq: seq });

/**
 * Protocol 3. The inbox entries `fromInboxSeq`..`toInboxSeq` (inclusive) expired before this device read them
 * (the inbox keeps entries for a limited time: docs/reliability.md "Retention"), so they will never be replayed.
 * Sent in the replay at their place; the entries after them follow. The device catches up from each chat's history
 * (`GET /v1/chats/:chatId/messages?after=`), which keeps messages longer, and may then ack up to `toInboxSeq`.
 */
export const syncGapFrameSchema = z.strictObject({
  type: z.literal('syncGap'),
  fromInboxSeq: seq,
  toInboxSeq: seq,
});

/** A frame was refused (malformed, unknown type, too large, rate limited...). Nothing changed. */
export const errorFrameSchema = z.strictObject({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  requestId: z.string().optional(),
  retriable: z.boolean(),
});

export const pongFrameSchema = z.strictObject({
  type: z.literal('pong'),
  nonce: z.string().optional(),
  serverTimeMs: z.number(),
});

/** The gateway is draining (deploy, scale-in): reconnect (to another instance) after a short jittered delay. */
export const reconnectFrameSchema = z.strictObject({
  type: z.literal('reconnect'),
  code: z.string(),
  retryAfterMs: z.number(),
});

/** Every frame the gateway may send. */
export const serverFrameSchema = z.discriminatedUnion('type', [
  helloFrameSchema,
  messageReceivedFrameSchema,
  newAttachmentFrameSchema,
  chatCreatedFrameSchema,
  chatUpdatedFrameSchema,
  membersAddedFrameSchema,
  membersRemovedFrameSchema,
  ackResultFrameSchema,
  rejectFrameSchema,
  receiptFrameSchema,
  readPointerFrameSchema,
  typingNoticeFrameSchema,
  presenceFrameSchema,
  identityKeyChangedFrameSchema,
  syncDoneFrameSchema,
  syncGapFrameSchema,
  errorFrameSchema,
  pongFrameSchema,
  reconnectFrameSchema,
]);

export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type ServerFrameType = ServerFrame['type'];
/** Frames of a chat's own sequence (messages, attachments, lifecycle): they carry the chat's `seq`. */
export type ChatFrame = Extract<
  ServerFrame,
  { type: 'messageReceived' | 'newAttachment' | 'chatCreated' | 'chatUpdated' | 'membersAdded' | 'membersRemoved' }
>;
/** Chat frames that come from the device's inbox (they carry `inboxSeq` and are replayed after reconnects). */
export type InboxFrame = ChatFrame extends infer T ? (T extends ChatFrame ? T & { inboxSeq: number } : never) : never;
/** Chat frames of a broadcast chat (no inbox position: acked per chat with `ack.chats`). */
export type BroadcastFrame = ChatFrame extends infer T ? (T extends ChatFrame ? Omit<T, 'inboxSeq'> : never) : never;
/** Every frame that occupies an inbox position (chat frames and `readPointer`): the device acks up to its `inboxSeq`. */
export type InboxPositionFrame = Extract<ServerFrame, { inboxSeq: number }>;
export type MessageReceivedFrame = z.infer<typeof messageReceivedFrameSchema>;
export type AckResultFrame = z.infer<typeof ackResultFrameSchema>;
export type RejectFrame = z.infer<typeof rejectFrameSchema>;
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
export const SERVER_FRAME_TYPES = serverFrameSchema.options.map(
  (o) => o.shape.type.value,
) as readonly ServerFrameType[];
