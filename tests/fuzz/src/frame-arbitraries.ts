/**
 * fast-check arbitraries of client frames: valid ones (every frame type, every optional field), and near-valid
 * ones (a valid frame with one field replaced by junk, one dropped, or one added), which reach deeper into the
 * parser and the gateway than random text does.
 */
import fc from 'fast-check';
import { CHAT_LIMITS } from '@chatmesh/protocol';

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-';

/** A valid id: 1-128 of `[A-Za-z0-9._:@-]`. */
export const validId = fc
  .array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 24 })
  .map((chars) => chars.join(''));
const seq = fc.oneof(fc.nat({ max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER - 1));
const base64 = fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString('base64'));
const ids = (min: number, max: number) => fc.array(validId, { minLength: min, maxLength: max });
const chatPositions = fc.array(fc.record({ chatId: validId, seq }), { maxLength: 4 });

const envelope = fc.record({
  userId: validId,
  deviceId: validId,
  ciphertext: base64,
  envelopeType: fc.integer({ min: 0, max: 255 }),
});
const attachment = fc.record(
  {
    attachmentId: validId,
    mimeType: fc.constantFrom('image/png', 'application/pdf', 'text/plain'),
    sizeBytes: fc.nat({ max: 10_000_000 }),
    sha256: base64,
    fileName: fc.string({ maxLength: 40 }),
  },
  { requiredKeys: ['attachmentId', 'mimeType', 'sizeBytes'] },
);

/** One valid frame of each type (optional fields sometimes present). */
export const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      type: fc.constant('send'),
      requestId: validId,
      chatId: validId,
      clientMessageId: validId,
      body: fc.string({ maxLength: 200 }),
      envelopes: fc.array(envelope, { maxLength: 3 }),
      attachments: fc.array(attachment, { maxLength: 2 }),
    },
    { requiredKeys: ['type', 'requestId', 'chatId', 'clientMessageId'] },
  ),
  fc.record(
    {
      type: fc.constant('createChat'),
      requestId: validId,
      chatId: validId,
      kind: fc.constantFrom('direct', 'group'),
      members: ids(1, 5),
      name: fc.string({ minLength: 1, maxLength: CHAT_LIMITS.maxChatNameLength }),
      pictureAttachmentId: validId,
    },
    { requiredKeys: ['type', 'requestId', 'chatId', 'kind', 'members'] },
  ),
  fc.record(
    {
      type: fc.constant('updateChat'),
      requestId: validId,
      chatId: validId,
      name: fc.string({ minLength: 1, maxLength: CHAT_LIMITS.maxChatNameLength }),
      pictureAttachmentId: validId,
      clearPicture: fc.boolean(),
    },
    { requiredKeys: ['type', 'requestId', 'chatId'] },
  ),
  fc.record({ type: fc.constant('addMembers'), requestId: validId, chatId: validId, userIds: ids(1, 5) }),
  fc.record({ type: fc.constant('removeMembers'), requestId: validId, chatId: validId, userIds: ids(1, 5) }),
  fc.record({ type: fc.constant('leaveChat'), requestId: validId, chatId: validId }),
  fc.record(
    { type: fc.constant('ack'), upToInboxSeq: seq, chats: chatPositions },
    { requiredKeys: ['type', 'upToInboxSeq'] },
  ),
  fc.record({ type: fc.constant('read'), chatId: validId, upToSeq: seq }),
  fc.record({ type: fc.constant('typing'), chatId: validId, typing: fc.boolean() }),
  fc.record({ type: fc.constant('sync'), fromInboxSeq: seq, chats: chatPositions }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('presenceSubscribe'), userIds: ids(0, 5) }),
  fc.record({ type: fc.constant('ping'), nonce: fc.string({ maxLength: 64 }) }, { requiredKeys: ['type'] }),
);

/** What a field may be replaced with: wrong types, limits and their neighbours, hostile strings. */
export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    -1,
    1.5,
    2 ** 53,
    2 ** 53 - 1,
    -(2 ** 63),
    Number.MAX_VALUE,
    '',
    ' ',
    '../../etc/passwd',
    '%ZZ',
    '\u0000',
    '\ud800',
    'a'.repeat(129),
    'x'.repeat(CHAT_LIMITS.maxBodyBytes + 1),
    '€'.repeat(CHAT_LIMITS.maxBodyBytes / 2),
    '__proto__',
    'constructor',
    [],
    {},
    { __proto__: { polluted: true } },
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid frame with one field replaced, removed, or one field added. */
export const nearValidFrame: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(validFrame, fc.nat(), fc.constantFrom('replace', 'remove', 'add'), junkValue, fc.string({ maxLength: 12 }))
  .map(([frame, pick, how, junk, extraKey]) => {
    const keys = Object.keys(frame);
    const key = keys[pick % keys.length]!;
    const copy: Record<string, unknown> = { ...frame };
    if (how === 'replace') copy[key] = junk;
    else if (how === 'remove') delete copy[key];
    else copy[extraKey || 'extra'] = junk;
    return copy;
  });
