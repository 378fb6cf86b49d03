/**
 * The store contract: the tables of the core message path as the services use them.
 * Two implementations, `createMemoryStore()` (embedded mode, fast tests) and `createCassandraStore()`,
 * pass one contract suite (`src/__tests__/store-contract.ts`).
 */

/** The two sequenced logs: a chat's events (keyed by chatId) and a user's inbox (keyed by userId). */
export type LogName = 'chat' | 'inbox';

/** One row of a sequenced log. */
export interface LogEntry {
  /** chatId for the chat log, userId for the inbox. */
  readonly streamId: string;
  /** 1-based, gap-free within a stream. */
  readonly seq: number;
  /** What makes a retried append find its first result (client message id, or a fan-out source key). */
  readonly idempotencyKey: string;
  /** Event kind, e.g. 'message', 'chat_created', 'members_added'. */
  readonly kind: string;
  /** The Avro-encoded event; opaque to the store. */
  readonly payload: Buffer;
  readonly createdAtMs: number;
}

/** Result of a conditional insert at a sequence number. */
export type InsertResult = { readonly applied: true } | { readonly applied: false; readonly existing: LogEntry };

/**
 * Table-level access to one sequenced log. The services append with {@link appendFenced}: plain writes stamped
 * with the writer's epoch, no consensus round per row.
 */
export interface SequencedLogStore {
  /**
   * Writes the entry at its sequence number on behalf of `epoch`'s writer, unconditionally. Of two writes of one
   * (stream, seq), the one with the higher epoch wins whatever order they land in (Cassandra: a write timestamp
   * derived from the epoch); within one epoch the later write wins. Never used with real-time timestamps.
   */
  write(entry: LogEntry, epoch: number): Promise<void>;
  /**
   * Inserts the entry only if its (stream, seq) is free (a Paxos round on Cassandra). Not on the message path any
   * more: for seeding tests and tools that write outside a fenced writer.
   */
  insertIfAbsent(entry: LogEntry): Promise<InsertResult>;
  /** The entry at a sequence number, or null. */
  get(streamId: string, seq: number): Promise<LogEntry | null>;
  /** Entries with seq > afterSeq in ascending order, at most `limit`. */
  readAfter(streamId: string, afterSeq: number, limit: number): Promise<LogEntry[]>;
  /** Entries with seq < beforeSeq in descending order, at most `limit` (history pages). */
  readBefore(streamId: string, beforeSeq: number, limit: number): Promise<LogEntry[]>;
  /** The sequence an idempotency key was appended at, or null (keys expire: see {@link LogRetention}). */
  findKey(streamId: string, idempotencyKey: string): Promise<number | null>;
  /** The sequence numbers of several idempotency keys of one stream in one round trip; absent keys are not in the map. */
  findKeys(streamId: string, idempotencyKeys: readonly string[]): Promise<Map<string, number>>;
  /**
   * Writes entries of one stream and their key index entries, as {@link write} and {@link putKey} would, in as few
   * round trips as the store allows (Cassandra: unlogged batches). Not atomic: a failure may leave any subset written.
   */
  writeBatch(entries: readonly LogEntry[], epoch: number): Promise<void>;
  /** Records key -> seq on behalf of `epoch`'s writer (the higher epoch wins, as for {@link write}); idempotent. */
  putKey(streamId: string, idempotencyKey: string, seq: number, epoch: number): Promise<void>;
  /**
   * The smallest sequence in `(afterSeq, upToSeq]` whose row is still stored, or null when none is. Finds where a
   * log resumes after rows expired ({@link LogRetention}): {@link readAfter} stops at the first missing number.
   */
  firstKeptAfter(streamId: string, afterSeq: number, upToSeq: number): Promise<number | null>;
  /** The head hint: the highest sequence known to be written (may lag; never ahead). 0 when empty. Never expires. */
  getHead(streamId: string): Promise<number>;
  /** Raises the head hint; a smaller value never lowers it. */
  raiseHead(streamId: string, seq: number): Promise<void>;
  /**
   * The highest sequence ever written to the stream by {@link write} or {@link writeBatch}, 0 when none: recorded
   * together with the rows (Cassandra: a static column of the rows' own partition, in the same single-partition batch)
   * and never expiring. Unlike the head hint it costs no write of its own and survives rows that expired, so recovery
   * never hands out a number that was written before. The store may look only from `fromSeq`'s bucket on: pass a
   * sequence known to be written (the head hint). Not recorded by {@link insertIfAbsent} (seeding).
   */
  highestWritten(streamId: string, fromSeq: number): Promise<number>;
}

/**
 * How long the sequenced tables keep their rows, in seconds (0: forever). Rows expire on their own (Cassandra:
 * per-write `USING TTL`; the memory store: the same rule on its clock); heads, cursors and membership never expire.
 * docs/reliability.md "Retention" gives the policy and its reasoning.
 */
export interface LogRetention {
  /** The chat log (history): every message and lifecycle event. 0 keeps it forever. */
  readonly chatLogSeconds: number;
  /** The chat log's idempotency keys (client message id -> seq): how long a retried send is recognised. */
  readonly chatKeySeconds: number;
  /** Inbox rows and their keys: how long a device may stay offline and still catch up from its inbox. */
  readonly inboxSeconds: number;
}

/** Thirty days, in seconds. */
const THIRTY_DAYS_S = 30 * 24 * 60 * 60;

/** The policy when nothing is configured: history forever, inbox rows and keys thirty days. */
export const DEFAULT_LOG_RETENTION: LogRetention = Object.freeze({
  chatLogSeconds: 0,
  chatKeySeconds: THIRTY_DAYS_S,
  inboxSeconds: THIRTY_DAYS_S,
});

/** A chat's metadata. */
export interface ChatRecord {
  readonly chatId: string;
  readonly kind: 'direct' | 'group';
  readonly name: string | null;
  readonly pictureRef: string | null;
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** One membership interval of a user in a chat. */
export interface MembershipRecord {
  readonly chatId: string;
  readonly userId: string;
  readonly role: 'admin' | 'member';
  /** The chat sequence from which the user is a member (inclusive). */
  readonly joinedSeq: number;
  /** The chat sequence from which the user is no longer a member (exclusive); null while a member. */
  readonly removedSeq: number | null;
  readonly addedBy: string;
}

/**
 * Chats and membership, written by ingest only. Every write carries the chat sequence number of the
 * event that caused it and an older write never overrides a newer one (Cassandra: USING TIMESTAMP =
 * seq), so replaying an event after later ones were applied changes nothing.
 */
export interface ChatDirectoryStore {
  /** Writes the chat's metadata as of chat sequence `atSeq`. */
  putChat(chat: ChatRecord, atSeq: number): Promise<void>;
  getChat(chatId: string): Promise<ChatRecord | null>;
  /** Starts a membership interval (idempotent for the same joinedSeq). */
  addMember(member: MembershipRecord): Promise<void>;
  /** Closes the user's open interval at `removedSeq` (idempotent). */
  removeMember(chatId: string, userId: string, removedSeq: number): Promise<void>;
  /** Members at a chat sequence: joinedSeq <= seq < removedSeq. */
  membersAt(chatId: string, seq: number): Promise<MembershipRecord[]>;
  /** Current members (open intervals). */
  currentMembers(chatId: string): Promise<MembershipRecord[]>;
  /** The chats a user currently belongs to (ChatParticipants by user). */
  chatsOfUser(userId: string): Promise<Array<{ chatId: string; role: 'admin' | 'member'; joinedSeq: number }>>;
}

/** Device progress through its user's inbox. */
export interface CursorStore {
  /** Moves the cursor forward; a smaller value never moves it back. */
  advance(userId: string, deviceId: string, ackedSeq: number): Promise<void>;
  get(userId: string, deviceId: string): Promise<number>;
  listDevices(userId: string): Promise<Array<{ deviceId: string; ackedSeq: number }>>;
}

/** How far one member got in one chat (chat sequence numbers, inclusive; 0 = nothing yet). */
export interface ReceiptPointers {
  /** Reached at least one device of the member. */
  readonly deliveredSeq: number;
  /** Shown to the member on some device. Never below {@link deliveredSeq} once written by receipts. */
  readonly readSeq: number;
}

/** A message whose delivery receipts checks when it falls due (the FAILED path). */
export interface DeliveryDeadline {
  readonly chatId: string;
  readonly seq: number;
  readonly senderUserId: string;
  /** When the message was stored (its server time). */
  readonly sentAtMs: number;
}

/**
 * Per-member delivered / read pointers per chat and the delivery deadlines, written by the receipts
 * service only (the single writer of a chat's pointers, thanks to the `receipts` topic's chatId key).
 * One row per (chat, member), never a row per message per member.
 */
export interface ReceiptStore {
  /** The pointers of every member that reported anything in the chat (others are absent: 0, 0). */
  pointersOfChat(chatId: string): Promise<Map<string, ReceiptPointers>>;
  /** One member's pointers; `{0, 0}` when nothing was reported. */
  pointers(chatId: string, userId: string): Promise<ReceiptPointers>;
  /** Raises the given pointers; a smaller value never lowers one (Cassandra: USING TIMESTAMP = seq per column). */
  raise(
    chatId: string,
    userId: string,
    raise: { readonly deliveredSeq?: number; readonly readSeq?: number },
  ): Promise<void>;
  /** Records a deadline in (shard, dueBucket); write-once and idempotent. Rows expire by themselves (TTL). */
  addDeadline(shard: number, dueBucket: number, deadline: DeliveryDeadline): Promise<void>;
  /** The deadlines of one (shard, bucket), in (chatId, seq) order. */
  deadlinesIn(shard: number, dueBucket: number): Promise<DeliveryDeadline[]>;
  /** The first bucket of the shard not swept yet; null before its first sweep. */
  sweepCursor(shard: number): Promise<number | null>;
  /**
   * Moves the shard's cursor from `expected` to `next` only if it still is `expected` (a lightweight
   * transaction): of several receipts instances, exactly one wins each bucket and sweeps it.
   */
  claimSweep(shard: number, expected: number | null, next: number): Promise<boolean>;
}

/** A user's privacy settings. */
export interface UserSettings {
  /** False: the user neither sends read states nor sees other people's (WhatsApp's rule). */
  readonly readReceipts: boolean;
  /** False: nobody sees the user's online state or last seen. */
  readonly presenceVisible: boolean;
}

/** What a user who never changed anything has. */
export const DEFAULT_USER_SETTINGS: UserSettings = Object.freeze({ readReceipts: true, presenceVisible: true });

/** Privacy settings, written by the presence service only (presence.events is keyed by userId). */
export interface UserSettingsStore {
  get(userId: string): Promise<UserSettings>;
  /** Every requested user is a key of the result. */
  getMany(userIds: readonly string[]): Promise<Map<string, UserSettings>>;
  /** Applies the given fields as of `atMs`: an older change never overrides a newer one. */
  put(userId: string, change: Partial<UserSettings>, atMs: number): Promise<void>;
}

/** One device of a user's device list. */
export interface DeviceRecord {
  readonly deviceId: string;
  readonly registeredAtMs: number;
  /** Set once the device was removed; a removed device may not connect again under that id. */
  readonly removedAtMs: number | null;
}

/** A user's devices, written by the presence service only. */
export interface DeviceStore {
  /** Every device the user ever had (removed ones included), by registration time. */
  list(userId: string): Promise<DeviceRecord[]>;
  /** Adds the device if it is not listed; a listed one (even removed) is left as it is. */
  register(userId: string, deviceId: string, atMs: number): Promise<void>;
  /** Marks the device removed (idempotent; the first removal time stays). */
  remove(userId: string, deviceId: string, atMs: number): Promise<void>;
}

/**
 * Writer epochs: the fencing tokens of single writers. Each claim returns a number higher than every earlier claim
 * under the same name (one lightweight transaction on Cassandra), so the newest owner of a stream always holds the
 * highest epoch and its writes win over a zombie's.
 */
export interface WriterEpochStore {
  /** Claims the next epoch of `name` ('chat_log', 'inbox_log'). */
  claim(name: string): Promise<number>;
}

/**
 * Chats fanned out once per gateway instead of once per member: sticky, written by fan-out's expansion only.
 * Cassandra: `broadcast_chats`, marked with one lightweight transaction per chat, ever.
 */
export interface BroadcastChatStore {
  /** Marks the chat broadcast from chat seq `sinceSeq` on; the first mark wins (idempotent) and is returned. */
  mark(chatId: string, sinceSeq: number): Promise<number>;
  /** Since which chat seq the chat is broadcast, or null when it is not. */
  sinceOf(chatId: string): Promise<number | null>;
  /** The broadcast chats among `chatIds`, with their since seq (absent: not broadcast). */
  sinceOfMany(chatIds: readonly string[]): Promise<Map<string, number>>;
}

/**
 * Per-device positions in broadcast chats (chat seqs, inclusive), written by the gateway on acks.
 * Cassandra: `device_chat_cursors`, one partition per device, written USING TIMESTAMP = acked seq.
 */
export interface ChatCursorStore {
  /** Raises the device's position in the chat; a smaller value never lowers it. */
  advance(userId: string, deviceId: string, chatId: string, ackedSeq: number): Promise<void>;
  /** The device's positions by chat id. */
  list(userId: string, deviceId: string): Promise<Map<string, number>>;
}

/** Which provider delivers a push channel; `inbox` is embedded mode's local push inbox. */
export type PushChannelProvider = 'fcm' | 'apns' | 'web_push' | 'inbox';

/** Where a device's wake-ups go: one channel per (user, device). */
export type PushChannel =
  | { readonly provider: 'fcm'; readonly token: string }
  | {
      readonly provider: 'apns';
      readonly token: string;
      readonly topic: string;
      readonly environment: 'sandbox' | 'production';
    }
  | { readonly provider: 'web_push'; readonly endpoint: string; readonly p256dh: string; readonly auth: string }
  | { readonly provider: 'inbox' };

/** A stored channel: the device, its channel and when that channel was registered (its version). */
export interface PushChannelRecord {
  readonly deviceId: string;
  readonly channel: PushChannel;
  readonly registeredAtMs: number;
}

/**
 * The devices' push channels, written by the push service only (registrations from `push.registrations`, dead
 * tokens it meets while sending, removed devices from `presence.events`). Every write is versioned by a time
 * (Cassandra: USING TIMESTAMP, in microseconds), so whatever order two instances' writes land in, the newest change
 * wins: a dead-token removal never deletes the refreshed token registered after it, and a replayed old
 * registration never brings back a channel removed later.
 */
export interface PushChannelStore {
  /** The user's channels, by device id. */
  list(userId: string): Promise<PushChannelRecord[]>;
  /** Sets the device's channel as of `atMs`, replacing an older one; an older registration than the stored one is ignored. */
  put(userId: string, deviceId: string, channel: PushChannel, atMs: number): Promise<void>;
  /**
   * Removes the device's channel as registered up to `atMs` (inclusive): a channel registered later stays. Pass the
   * dead channel's own `registeredAtMs` to delete exactly that token, or a removal time to delete whatever was
   * registered before it.
   */
  remove(userId: string, deviceId: string, atMs: number): Promise<void>;
}

/** One wake-up the local push inbox provider recorded (no content: the chat and the badge). */
export interface PushInboxEntry {
  readonly deviceId: string;
  readonly chatId: string | null;
  readonly badge: number;
  readonly atMs: number;
  readonly requestId: string;
}

/** The local push inbox (embedded mode's provider): written by the push service, read by the gateway. Kept a day. */
export interface PushInboxStore {
  /** Records a wake-up; the same (time, request, device) twice is one entry. */
  record(userId: string, entry: PushInboxEntry): Promise<void>;
  /** The user's newest wake-ups first, at most `limit`. */
  list(userId: string, limit: number): Promise<PushInboxEntry[]>;
}

/** What the server knows about one upload (the bytes are in the object store under `objectKey`). */
export interface AttachmentRecord {
  readonly attachmentId: string;
  readonly ownerUserId: string;
  readonly objectKey: string;
  readonly sizeBytes: number;
  readonly contentType: string;
  /** Base64 SHA-256 the uploader declared (checked by the store for single-part uploads). */
  readonly sha256: string;
  readonly fileName: string | null;
  /** The S3 multipart upload id while the upload is multipart; null for a single PUT. */
  readonly multipartUploadId: string | null;
  readonly createdAtMs: number;
}

/** One message (or group picture) that refers to an attachment. */
export interface AttachmentRefRecord {
  readonly attachmentId: string;
  readonly chatId: string;
  /** The message's idempotency key (`msg:<user>:<clientMessageId>`) or `picture:<requestKey>`. */
  readonly refKey: string;
  readonly byUserId: string;
  readonly createdAtMs: number;
}

/**
 * Attachment metadata. `attachments` (and its by-day index) is written by the gateway's attachment API and its orphan
 * sweeper only; `attachment_refs` by ingest only.
 */
export interface AttachmentStore {
  /** Records a new upload (idempotent for the same id). */
  create(record: AttachmentRecord): Promise<void>;
  get(attachmentId: string): Promise<AttachmentRecord | null>;
  /** Uploads created in `[fromMs, beforeMs)`, oldest first, at most `limit`. */
  createdBetween(fromMs: number, beforeMs: number, limit: number): Promise<AttachmentRecord[]>;
  /** Forgets an upload (its refs are not touched: the sweeper only removes unreferenced ones). */
  remove(record: AttachmentRecord): Promise<void>;
  /** Records that a message refers to the attachment (idempotent per chat and ref key). */
  addRef(ref: AttachmentRefRecord): Promise<void>;
  /** Every message that refers to the attachment. */
  refs(attachmentId: string): Promise<AttachmentRefRecord[]>;
}

/** A public prekey the client numbered itself (Signal's key ids). */
export interface PreKeyRecord {
  readonly keyId: number;
  /** The serialized public key, as libsignal writes it (33 bytes for Curve25519, 1569 for Kyber-1024). */
  readonly publicKey: Buffer;
}

/** A prekey signed with the device's identity key (XEdDSA over the serialized public key). */
export interface SignedPreKeyRecord extends PreKeyRecord {
  readonly signature: Buffer;
}

/** The long-lived keys of one device: what every bundle of the device carries. */
export interface DeviceKeysRecord {
  readonly deviceId: string;
  /** The serialized identity public key (33 bytes: 0x05 and the Curve25519 u). */
  readonly identityKey: Buffer;
  /** Signal's registration id of the install (1-16380). */
  readonly registrationId: number;
  readonly signedPreKey: SignedPreKeyRecord;
  /** The Kyber prekey handed out when the device has no one-time Kyber prekey left (PQXDH). */
  readonly kyberLastResort: SignedPreKeyRecord;
  readonly updatedAtMs: number;
}

/** How many one-time prekeys a device still has. */
export interface PreKeyCounts {
  readonly oneTime: number;
  readonly kyber: number;
}

/**
 * The end-to-end key directory (Signal's prekey store): written by the gateway's key API on behalf of the device
 * itself (uploads, rotations) and by bundle fetches (claims). Cassandra: `e2e_device_keys`, `e2e_one_time_prekeys`,
 * `e2e_kyber_prekeys` (migration 0007).
 */
export interface KeyDirectoryStore {
  /**
   * Sets the device's identity, registration id, signed prekey and Kyber last-resort prekey. When the identity key
   * changes (a reinstall), the device's one-time prekeys of the old identity are dropped: they could never complete
   * a session. Returns the identity key that was stored before (null for the first upload).
   */
  putDeviceKeys(userId: string, keys: DeviceKeysRecord): Promise<{ previousIdentityKey: Buffer | null }>;
  /** The device's long-lived keys, or null when it never uploaded. */
  getDeviceKeys(userId: string, deviceId: string): Promise<DeviceKeysRecord | null>;
  /** Every device of the user that uploaded keys. */
  listDeviceKeys(userId: string): Promise<DeviceKeysRecord[]>;
  /** Adds one-time prekeys (a key id already there is replaced). */
  addOneTimePreKeys(userId: string, deviceId: string, keys: readonly PreKeyRecord[]): Promise<void>;
  /** Adds one-time Kyber prekeys (a key id already there is replaced). */
  addKyberPreKeys(userId: string, deviceId: string, keys: readonly SignedPreKeyRecord[]): Promise<void>;
  /** Takes one one-time prekey away for a bundle: each key is handed out at most once, also to concurrent callers. */
  claimOneTimePreKey(userId: string, deviceId: string): Promise<PreKeyRecord | null>;
  /** Takes one one-time Kyber prekey away (null: none left, the bundle carries the last-resort key). */
  claimKyberPreKey(userId: string, deviceId: string): Promise<SignedPreKeyRecord | null>;
  /** How many one-time prekeys the device has left. */
  countPreKeys(userId: string, deviceId: string): Promise<PreKeyCounts>;
}

/** Everything chatmesh stores. */
export interface ChatStore {
  readonly kind: 'memory' | 'cassandra';
  readonly writerEpochs: WriterEpochStore;
  readonly chatLog: SequencedLogStore;
  readonly inboxLog: SequencedLogStore;
  readonly directory: ChatDirectoryStore;
  readonly cursors: CursorStore;
  readonly broadcastChats: BroadcastChatStore;
  readonly chatCursors: ChatCursorStore;
  readonly receipts: ReceiptStore;
  readonly settings: UserSettingsStore;
  readonly devices: DeviceStore;
  readonly pushChannels: PushChannelStore;
  readonly pushInbox: PushInboxStore;
  readonly attachments: AttachmentStore;
  readonly keys: KeyDirectoryStore;
  close(): Promise<void>;
}

/** Epochs must stay below this so that write stamps (epoch × 2^32 + a counter) fit Cassandra's 64-bit timestamps. */
export const MAX_WRITER_EPOCH = 2 ** 30;

let stampCounter = 0n;
/**
 * The write timestamp of a fenced write: the epoch in the high bits, then a per-process counter, so a higher epoch
 * always wins and, within an epoch, a later write (a retried append) wins over an earlier one.
 */
export function writeStampOf(epoch: number): bigint {
  if (!Number.isInteger(epoch) || epoch < 1 || epoch >= MAX_WRITER_EPOCH) {
    throw new RangeError(`writer epoch must be an integer in [1, ${MAX_WRITER_EPOCH}) (got ${epoch})`);
  }
  stampCounter = (stampCounter + 1n) & 0xffffffffn;
  return (BigInt(epoch) << 32n) + stampCounter;
}

/** Events per partition of a log; bounds Cassandra partitions. */
export const LOG_BUCKET_SIZE = 1000;

/** The bucket (partition) a sequence number lives in. */
export function bucketOf(seq: number): number {
  return Math.floor(seq / LOG_BUCKET_SIZE);
}
