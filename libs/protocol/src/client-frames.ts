/**
 * Frames a client sends over the WebSocket (protocol version 2): one JSON object per text frame, with
 * a `type`. Every frame is validated with these strict schemas (unknown fields are refused) before the
 * gateway acts on it; a frame that fails gets an `error` frame with `CM_ERR_PROTOCOL_*` and changes
 * nothing. See docs/protocol.md.
 */
import { z } from 'zod';
import { CHAT_LIMITS, ID_PATTERN, utf8ByteLength } from './chat-limits.js';

const id = z.string().regex(ID_PATTERN, 'an id of 1-128 characters of [A-Za-z0-9._:@-]');
const seq = z.number().int().min(0).max(CHAT_LIMITS.maxSeq);
const requestId = id.describe('Chosen by the client; echoed in the answer (ack or reject).');

/** A per-device ciphertext for end-to-end encrypted messages; the server relays it untouched. */
export const envelopeSchema = z.strictObject({
  userId: id,
  deviceId: id,
  /** Base64 of the ciphertext. */
  ciphertext: z.base64(),
  /** The client's own envelope kind (e.g. prekey message vs. whisper message). */
  envelopeType: z.number().int().min(0).max(255),
});

/** A reference to a blob uploaded to the attachment store. */
export const attachmentSchema = z.strictObject({
  attachmentId: id,
  mimeType: z.string().min(1).max(255),
  sizeBytes: z.number().int().min(0),
  /** Base64 of the SHA-256 of the (encrypted) blob. */
  sha256: z.base64().optional(),
  fileName: z.string().max(255).optional(),
});

export const sendFrameSchema = z.strictObject({
  type: z.literal('send'),
  requestId,
  chatId: id,
  /** Makes every stage idempotent: a retry with the same id gets the original ack, never a second message. */
  clientMessageId: id,
  /**
   * This device's previous message in the chat that must be stored first (the SDK sets it while that one is
   * unacknowledged): until it is, the send is refused with the retriable CM_ERR_CHAT_OUT_OF_ORDER, so a sender's
   * messages keep their order across refusals, lost answers and reconnects.
   */
  afterClientMessageId: id.optional(),
  /** At most {@link CHAT_LIMITS.maxBodyBytes} UTF-8 bytes (ingest counts the same way). */
  body: z
    .string()
    .refine((body) => utf8ByteLength(body) <= CHAT_LIMITS.maxBodyBytes, {
      message: `at most ${CHAT_LIMITS.maxBodyBytes} UTF-8 bytes`,
    })
    .optional(),
  envelopes: z.array(envelopeSchema).max(CHAT_LIMITS.maxEnvelopes).optional(),
  attachments: z.array(attachmentSchema).max(CHAT_LIMITS.maxAttachments).optional(),
});

export const createChatFrameSchema = z.strictObject({
  type: z.literal('createChat'),
  requestId,
  /** For a direct chat: `directChatId(me, other)`; for a group: a new unique id (a UUID). */
  chatId: id,
  kind: z.enum(['direct', 'group']),
  /** The other members (the creator is added by the server). */
  members: z.array(id).min(1).max(CHAT_LIMITS.maxGroupMembers),
  name: z.string().min(1).max(CHAT_LIMITS.maxChatNameLength).optional(),
  pictureAttachmentId: id.optional(),
});

export const updateChatFrameSchema = z.strictObject({
  type: z.literal('updateChat'),
  requestId,
  chatId: id,
  name: z.string().min(1).max(CHAT_LIMITS.maxChatNameLength).optional(),
  pictureAttachmentId: id.optional(),
  clearPicture: z.boolean().optional(),
});

export const addMembersFrameSchema = z.strictObject({
  type: z.literal('addMembers'),
  requestId,
  chatId: id,
  userIds: z.array(id).min(1).max(CHAT_LIMITS.maxGroupMembers),
});

export const removeMembersFrameSchema = z.strictObject({
  type: z.literal('removeMembers'),
  requestId,
  chatId: id,
  userIds: z.array(id).min(1).max(CHAT_LIMITS.maxGroupMembers),
});

export const leaveChatFrameSchema = z.strictObject({ type: z.literal('leaveChat'), requestId, chatId: id });

/** A position in one broadcast chat (chat sequence numbers). */
const chatPositionSchema = z.strictObject({ chatId: id, seq });

/**
 * Moves this device's cursor: everything up to `upToInboxSeq` is safely stored on the device, and in each
 * broadcast chat of `chats` everything up to its `seq`.
 */
export const ackFrameSchema = z.strictObject({
  type: z.literal('ack'),
  upToInboxSeq: seq,
  chats: z.array(chatPositionSchema).max(CHAT_LIMITS.maxChatsPerAck).optional(),
});

/** The user has read a chat up to a chat sequence number (read receipts, issue 7). */
export const readFrameSchema = z.strictObject({ type: z.literal('read'), chatId: id, upToSeq: seq });

/** Typing started (true) or stopped (false); expires by itself a few seconds after the last refresh. */
export const typingFrameSchema = z.strictObject({ type: z.literal('typing'), chatId: id, typing: z.boolean() });

/**
 * Replays the device's inbox after `fromInboxSeq` (default: the device's stored cursor), then switches to
 * live delivery; `syncDone` marks the switch. With `chats`, each of those broadcast chats is replayed after
 * its `seq` and then followed live again; a frame with `chats` and no `fromInboxSeq` leaves the inbox alone.
 */
export const syncFrameSchema = z.strictObject({
  type: z.literal('sync'),
  fromInboxSeq: seq.optional(),
  chats: z.array(chatPositionSchema).max(CHAT_LIMITS.maxChatsPerAck).optional(),
});

/** Follow these users' online / last-seen state (only users who share a chat with the caller). */
export const presenceSubscribeFrameSchema = z.strictObject({
  type: z.literal('presenceSubscribe'),
  userIds: z.array(id).max(1024),
});

export const pingFrameSchema = z.strictObject({ type: z.literal('ping'), nonce: z.string().max(64).optional() });

/** Every frame a client may send. */
export const clientFrameSchema = z.discriminatedUnion('type', [
  sendFrameSchema,
  createChatFrameSchema,
  updateChatFrameSchema,
  addMembersFrameSchema,
  removeMembersFrameSchema,
  leaveChatFrameSchema,
  ackFrameSchema,
  readFrameSchema,
  typingFrameSchema,
  syncFrameSchema,
  presenceSubscribeFrameSchema,
  pingFrameSchema,
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type SendFrame = z.infer<typeof sendFrameSchema>;
export type CreateChatFrame = z.infer<typeof createChatFrameSchema>;
export type ClientFrameType = ClientFrame['type'];
/** Client frame types, for tables and docs. */
export const CLIENT_FRAME_TYPES = clientFrameSchema.options.map(
  (o) => o.shape.type.value,
) as readonly ClientFrameType[];
