/**
 * The schemas of the HTTP API's requests and answers that the route table ({@link HTTP_ROUTES}) names. Request
 * schemas are what the handlers validate with; answer schemas describe what they send. Both become the OpenAPI
 * document (`GET /v1/openapi.json`, docs/openapi.json), so the document cannot say something the code does not.
 */
import { MULTIPART_MAX_PARTS } from '@chatmesh/attachments';
import {
  chatCreatedFrameSchema,
  chatUpdatedFrameSchema,
  ID_PATTERN,
  membersAddedFrameSchema,
  membersRemovedFrameSchema,
  messageReceivedFrameSchema,
  newAttachmentFrameSchema,
} from '@chatmesh/protocol';
import { z } from 'zod';

/** Any id of the protocol (user, device, chat, attachment). */
export const idSchema = z.string().regex(ID_PATTERN).describe('1-128 characters of [A-Za-z0-9._:@-]');

/** Every refusal and failure: a machine-readable `CM_ERR_*` code (docs/errors.md) and a sentence. */
export const errorBodySchema = z.strictObject({
  code: z.string().describe('A CM_ERR_* code (docs/errors.md).'),
  message: z.string(),
  retryAfterMs: z.number().int().optional().describe('Rate-limited attachment requests: when to retry.'),
});

/** `PUT /v1/settings`: at least one of the two switches. */
export const settingsBodySchema = z
  .strictObject({ readReceipts: z.boolean().optional(), presenceVisible: z.boolean().optional() })
  .refine((body) => body.readReceipts !== undefined || body.presenceVisible !== undefined, {
    message: 'set readReceipts or presenceVisible (booleans)',
  });

export const settingsSchema = z.strictObject({ readReceipts: z.boolean(), presenceVisible: z.boolean() });

const token = (max: number) => z.string().min(1).max(max);
/**
 * `PUT /v1/push/channel`: where the caller's device gets its wake-ups. Web Push takes the browser's
 * `PushSubscription.toJSON()` as it is.
 */
export const pushChannelBodySchema = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('fcm'), token: token(4096) }),
  z.strictObject({
    provider: z.literal('apns'),
    token: z.string().regex(/^[0-9a-fA-F]{64,200}$/, 'an APNs device token is hex'),
    topic: token(255),
    environment: z.enum(['sandbox', 'production']),
  }),
  z.strictObject({
    provider: z.literal('web_push'),
    subscription: z.object({
      endpoint: z.url({ protocol: /^https?$/ }).max(2048),
      expirationTime: z.number().nullable().optional(),
      keys: z.strictObject({
        p256dh: z.string().regex(/^[A-Za-z0-9_-]{80,100}={0,2}$/, 'p256dh is a base64url P-256 public key'),
        auth: z.string().regex(/^[A-Za-z0-9_-]{16,24}={0,2}$/, 'auth is a base64url 16-byte secret'),
      }),
    }),
  }),
  z.strictObject({ provider: z.literal('inbox') }),
]);

/** A registered channel as `GET /v1/push/channel` shows it: tokens shortened, Web Push only by origin. */
export const publicPushChannelSchema = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('fcm'), token: z.string().describe('Shortened: a token is a credential.') }),
  z.strictObject({
    provider: z.literal('apns'),
    token: z.string().describe('Shortened: a token is a credential.'),
    topic: z.string(),
    environment: z.enum(['sandbox', 'production']),
  }),
  z.strictObject({ provider: z.literal('web_push'), endpoint: z.string().describe('The push service origin only.') }),
  z.strictObject({ provider: z.literal('inbox') }),
]);

/** History pages hold at most this many events. */
export const MAX_HISTORY_PAGE = 200;
/** Wake-ups `GET /v1/push/inbox` lists at most. */
export const MAX_PUSH_INBOX_PAGE = 50;

/** A non-negative integer query parameter: digits only (no sign, exponent or fraction), at most 15 of them. */
const integerParam = (description: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number)
    .describe(description);

/** `GET /v1/chats/:chatId/messages`: `before` or `after` (not both) and a page size. */
export const historyQuerySchema = z
  .object({
    before: integerParam('Events with a chat seq below this, newest page first (the default: the latest page).'),
    after: integerParam('Events with a chat seq above this, oldest first (catching up; the answer has lastSeq).'),
    limit: integerParam(`Page size, 1-${MAX_HISTORY_PAGE} (default 50).`).pipe(
      z.number().int().min(1).max(MAX_HISTORY_PAGE),
    ),
  })
  .partial()
  .refine((query) => query.before === undefined || query.after === undefined, {
    message: 'pass before or after, not both',
  });

/** `GET /v1/push/inbox`: a page size. */
export const pushInboxQuerySchema = z
  .object({
    limit: integerParam(`At most this many wake-ups, 1-${MAX_PUSH_INBOX_PAGE} (default ${MAX_PUSH_INBOX_PAGE}).`).pipe(
      z.number().int().min(1).max(MAX_PUSH_INBOX_PAGE),
    ),
  })
  .partial();

/** `POST /v1/dev/token` (embedded mode only). */
export const devTokenBodySchema = z.object({ userId: idSchema, deviceId: idSchema });

export const devTokenSchema = z.strictObject({
  token: z.string(),
  expiresAtMs: z.number(),
  developmentOnly: z.literal(true),
  notice: z.string(),
});

export const chatSummarySchema = z.strictObject({
  chatId: z.string(),
  kind: z.enum(['direct', 'group']),
  name: z.string().nullable(),
  pictureAttachmentId: z.string().nullable(),
  role: z.enum(['admin', 'member']),
  /** Members see the chat from this seq on. */
  joinedSeq: z.number().int(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});

export const chatListSchema = z.strictObject({ chats: z.array(chatSummarySchema) });

/** A history event: the chat frames of the WebSocket protocol, without `inboxSeq`. */
const historyEventSchema = z.discriminatedUnion('type', [
  messageReceivedFrameSchema.omit({ inboxSeq: true }),
  newAttachmentFrameSchema.omit({ inboxSeq: true }),
  chatCreatedFrameSchema.omit({ inboxSeq: true }),
  chatUpdatedFrameSchema.omit({ inboxSeq: true }),
  membersAddedFrameSchema.omit({ inboxSeq: true }),
  membersRemovedFrameSchema.omit({ inboxSeq: true }),
]);

const seqRangeSchema = z.strictObject({ fromSeq: z.number().int(), toSeq: z.number().int() });

export const historyPageSchema = z.strictObject({
  chatId: z.string(),
  events: z.array(historyEventSchema),
  hasMore: z.boolean(),
  expired: seqRangeSchema
    .optional()
    .describe('Events past the chat log retention, named so the client reports the gap (docs/reliability.md).'),
  lastSeq: z.number().int().optional().describe('With `after`: the last chat seq this page covers; the next `after`.'),
});

export const deviceListSchema = z.strictObject({
  maxDevices: z.number().int(),
  devices: z.array(
    z.strictObject({ deviceId: z.string(), registeredAtMs: z.number(), online: z.boolean(), current: z.boolean() }),
  ),
});

/** A change handed to a service over Kafka: applied shortly, not yet. */
export const acceptedSchema = z.strictObject({ requestId: z.string() });

export const pushChannelStateSchema = z.strictObject({
  channel: publicPushChannelSchema.nullable(),
  registeredAtMs: z.number().nullable(),
});

export const pushInboxSchema = z.strictObject({
  wakeUps: z.array(
    z.strictObject({
      deviceId: z.string(),
      chatId: z.string().nullable(),
      badge: z.number().int(),
      atMs: z.number(),
      requestId: z.string(),
    }),
  ),
});

/** A presigned request: send it as it is, headers included (they are signed). */
export const presignedRequestSchema = z.strictObject({
  method: z.enum(['PUT', 'GET']),
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  expiresAtMs: z.number(),
});

/** `POST /v1/attachments`. */
export const uploadBodySchema = z.strictObject({
  sizeBytes: z.number().int(),
  contentType: z.string().min(1).max(255),
  sha256: z.string().max(64),
  fileName: z.string().max(255).nullable().optional(),
});
/** `POST /v1/attachments/multipart`. */
export const multipartBodySchema = uploadBodySchema.extend({ partSizeBytes: z.number().int() });
/** `POST /v1/attachments/:attachmentId/parts`: which parts to presign. */
export const partNumbersBodySchema = z.strictObject({ partNumbers: z.array(z.number().int()).min(1).max(1000) });
/** `POST /v1/attachments/:attachmentId/complete`: every part's ETag, as the store answered its PUT. */
export const completeBodySchema = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        partNumber: z.number().int().min(1).max(MULTIPART_MAX_PARTS),
        etag: z.string().min(1).max(200),
      }),
    )
    .min(1)
    .max(MULTIPART_MAX_PARTS),
});

export const uploadGrantSchema = z.strictObject({ attachmentId: z.string(), upload: presignedRequestSchema });
export const multipartGrantSchema = z.strictObject({
  attachmentId: z.string(),
  partSizeBytes: z.number().int(),
  partCount: z.number().int(),
});
export const presignedPartsSchema = z.strictObject({
  parts: z.array(presignedRequestSchema.extend({ partNumber: z.number().int() })),
});
export const attachmentIdSchema = z.strictObject({ attachmentId: z.string() });
export const downloadGrantSchema = z.strictObject({ attachmentId: z.string(), download: presignedRequestSchema });

export const prekeyStatusSchema = z.strictObject({
  registered: z.boolean(),
  preKeys: z.number().int(),
  kyberPreKeys: z.number().int(),
  refillBelow: z.number().int(),
  refill: z.boolean().describe('Upload more one-time prekeys (either kind is below refillBelow).'),
});

const signedKeySchema = z.strictObject({ keyId: z.number().int(), publicKey: z.string(), signature: z.string() });

export const keyBundlesSchema = z.strictObject({
  userId: z.string(),
  devices: z.array(
    z.strictObject({
      deviceId: z.string(),
      registrationId: z.number().int(),
      identityKey: z.string(),
      signedPreKey: signedKeySchema,
      preKey: z.strictObject({ keyId: z.number().int(), publicKey: z.string() }).nullable(),
      kyberPreKey: signedKeySchema,
      kyberLastResort: z.boolean().describe('The Kyber key is the last-resort one (no one-time Kyber key was left).'),
    }),
  ),
});

export const healthSchema = z.strictObject({ status: z.literal('ok') });
