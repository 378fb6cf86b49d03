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
  /**
   * The largest sequence number or position a frame may carry: the largest Avro `long` the record codec (avsc)
   * encodes without precision loss (2^53 - 2), so that a valid frame always becomes a valid record.
   */
  maxSeq: 9_007_199_254_740_990,
});

/**
 * The longest a conforming client keeps retrying a command (the SDK's outbox): an entry older than this is dropped
 * and reported, never sent. The server keeps idempotency keys longer than this (CHATMESH_RETENTION_CHAT_KEYS_SECONDS
 * is validated against it), so a retry is always recognised and never stored twice.
 */
export const MAX_CLIENT_RETRY_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** UTF-8 bytes of a string, without allocating (lone surrogates count as the 3 bytes of U+FFFD, as encoders write). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Chat, user, device and message ids: 1-128 of `[A-Za-z0-9._:@-]` (no spaces, no control characters). */
export const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Whether `value` is a well-formed id. */
export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}
