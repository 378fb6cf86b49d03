/**
 * The limits of chats and messages, shared by the gateway (which refuses early) and ingest (which
 * enforces them as the single writer). Sizes in bytes, counts as integers.
 */
export const CHAT_LIMITS = Object.freeze({
  /** Members of a group, creator included (WhatsApp's limit). */
  maxGroupMembers: 1024,
  /** Broadcast chat positions in one `ack` or `sync` frame. */
  maxChatsPerAck: 1024,
  /** UTF-8 bytes of a plaintext body. */
  maxBodyBytes: 64 * 1024,
  /** Sum of the ciphertext bytes of one message's per-device envelopes. */
  maxCiphertextBytes: 1024 * 1024,
  /** Per-device envelopes in one message (1,024 members with a few devices each). */
  maxEnvelopes: 8 * 1024,
  /** Attachment references in one message. */
  maxAttachments: 32,
  /** Characters of a group name. */
  maxChatNameLength: 100,
  /** Characters of ids (chat, user, device, client message, request). */
  maxIdLength: 128,
});

/** Chat, user, device and message ids: 1-128 of `[A-Za-z0-9._:@-]` (no spaces, no control characters). */
export const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Whether `value` is a well-formed id. */
export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}
