import type { ServerFrame } from '@chatmesh/protocol';
import {
  matchBranch,
  type AttachmentRef,
  type ChatCreated,
  type ChatEvent,
  type ChatEventEvent,
  type ChatEventRef,
  type InboxEntryItem,
  type CiphertextEnvelope,
  type InboxEntry,
  type MessageContent,
  type MessageStatusUpdate,
  type SchemaCodec,
} from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';

type ProtocolAttachment = {
  attachmentId: string;
  mimeType: string;
  sizeBytes: number;
  sha256?: string;
  fileName?: string;
};
type ProtocolEnvelope = { userId: string; deviceId: string; ciphertext: string; envelopeType: number };

/** The device a frame is rendered for: it gets only its own ciphertexts. */
export interface RenderTarget {
  readonly userId: string;
  readonly deviceId: string;
}

/** Avro attachment reference → protocol attachment (digest as base64, absent optionals left out). */
export function toProtocolAttachment(ref: AttachmentRef): ProtocolAttachment {
  return {
    attachmentId: ref.attachmentId,
    mimeType: ref.mimeType,
    sizeBytes: ref.sizeBytes,
    ...(ref.sha256 === null ? {} : { sha256: ref.sha256.toString('base64') }),
    ...(ref.fileName === null ? {} : { fileName: ref.fileName }),
  };
}

function envelopesFor(envelopes: readonly CiphertextEnvelope[], target: RenderTarget): ProtocolEnvelope[] {
  return envelopes
    .filter((e) => e.recipientUserId === target.userId && e.recipientDeviceId === target.deviceId)
    .map((e) => ({
      userId: e.recipientUserId,
      deviceId: e.recipientDeviceId,
      ciphertext: e.ciphertext.toString('base64'),
      envelopeType: e.envelopeType,
    }));
}

const role = (r: 'ADMIN' | 'MEMBER'): 'admin' | 'member' => (r === 'ADMIN' ? 'admin' : 'member');

/** A status update for the sender (a `receipt` frame), with the inbox position when it came from the inbox. */
export function renderStatusUpdate(update: MessageStatusUpdate, inboxSeq?: number): ServerFrame {
  return {
    type: 'receipt',
    ...(inboxSeq === undefined ? {} : { inboxSeq }),
    chatId: update.chatId,
    fromSeq: update.fromSeq,
    upToSeq: update.upToSeq,
    status: update.status.toLowerCase() as 'sent' | 'delivered' | 'read' | 'failed',
    byUserId: update.byUserId,
    atMs: update.changedAtMs,
  };
}

/**
 * Renders one stored chat event as the frames of a device (`messageReceived` then one `newAttachment`
 * per attachment; or the lifecycle frame). `content` overrides the event's content (a live delivery's
 * inline copy, already filtered for the device).
 * @param inboxSeq the inbox position, or undefined for an event of a broadcast chat (not in the inbox)
 */
export function renderChatEvent(
  event: ChatEvent,
  inboxSeq: number | undefined,
  target: RenderTarget,
  content?: MessageContent | null,
): ServerFrame[] {
  const position = inboxSeq === undefined ? {} : { inboxSeq };
  const base = {
    ...position,
    chatId: event.chatId,
    seq: event.seq,
    by: { userId: event.origin.userId, deviceId: event.origin.deviceId },
    serverTimeMs: event.serverTimeMs,
  };
  const attendees = (members: ChatCreated['members']) => members.map((m) => ({ userId: m.userId, role: role(m.role) }));
  return matchBranch<ChatEventEvent, ServerFrame[]>(event.event, {
    'chatmesh.chat.MessageReceived': (message) => {
      const c = content ?? message.content;
      const attachments = c.attachments.map(toProtocolAttachment);
      return [
        {
          type: 'messageReceived',
          ...base,
          clientMessageId: message.clientMessageId,
          body: c.body,
          envelopes: envelopesFor(c.envelopes, target),
          attachments,
        },
        ...attachments.map((attachment): ServerFrame => ({
          type: 'newAttachment',
          ...position,
          chatId: event.chatId,
          seq: event.seq,
          attachment,
        })),
      ];
    },
    'chatmesh.chat.ChatCreated': (created) => [
      {
        type: 'chatCreated',
        ...base,
        kind: created.kind === 'GROUP' ? 'group' : 'direct',
        members: attendees(created.members),
        name: created.name,
        pictureAttachmentId: created.pictureAttachmentId,
      },
    ],
    'chatmesh.chat.ChatUpdated': (updated) => [
      {
        type: 'chatUpdated',
        ...base,
        name: updated.name,
        pictureAttachmentId: updated.pictureAttachmentId,
        pictureCleared: updated.pictureCleared,
      },
    ],
    'chatmesh.chat.MembersAdded': (added) => [{ type: 'membersAdded', ...base, members: attendees(added.members) }],
    'chatmesh.chat.MembersRemoved': (removed) => [
      {
        type: 'membersRemoved',
        ...base,
        userIds: [...removed.userIds],
        reason: removed.reason === 'LEFT' ? 'left' : 'removed',
      },
    ],
  });
}

/** Renders inbox entries for a device, reading the chat events they reference from the chat log. */
export interface InboxRenderer {
  /**
   * The frames of one inbox entry (a chat event's frames, a `receipt` or a `readPointer`; empty when
   * the referenced event is missing from the chat log).
   * @param content a live delivery's inline message content, which saves the chat log read
   */
  render(entry: InboxEntry, target: RenderTarget, content?: MessageContent | null): Promise<ServerFrame[]>;
  /** Decodes a chat log row (history pages). */
  decodeEvent(payload: Buffer): Promise<ChatEvent>;
}

/** Creates the renderer over the chat log. */
export function createInboxRenderer(deps: { store: ChatStore; codec: SchemaCodec }): InboxRenderer {
  const { store, codec } = deps;
  const decodeEvent = async (payload: Buffer): Promise<ChatEvent> => (await codec.decode<ChatEvent>(payload)).value;
  return {
    decodeEvent,
    async render(entry, target, content) {
      const inboxSeq = entry.inboxSeq ?? 0;
      return matchBranch<InboxEntryItem, Promise<ServerFrame[]>>(entry.item, {
        'chatmesh.receipts.MessageStatusUpdate': async (update) => [renderStatusUpdate(update, inboxSeq)],
        'chatmesh.inbox.ReadPointerUpdate': async (pointer) => [
          {
            type: 'readPointer',
            inboxSeq,
            chatId: entry.chatId,
            upToSeq: pointer.upToSeq,
            byDeviceId: pointer.byDeviceId,
          },
        ],
        'chatmesh.inbox.ChatEventRef': (ref) => renderReference(ref),
      });

      async function renderReference(ref: ChatEventRef): Promise<ServerFrame[]> {
        if (content && ref.kind === 'MESSAGE_RECEIVED') {
          // Live delivery with the inline copy: everything the frame needs is in the reference.
          const event: ChatEvent = {
            chatId: entry.chatId,
            seq: ref.chatSeq,
            serverTimeMs: ref.serverTimeMs,
            origin: {
              userId: ref.actorUserId,
              deviceId: ref.actorDeviceId,
              gatewayId: '',
              requestId: '',
              receivedAtMs: ref.serverTimeMs,
            },
            event: { 'chatmesh.chat.MessageReceived': { clientMessageId: ref.clientMessageId ?? '', content } },
          };
          return renderChatEvent(event, inboxSeq, target);
        }
        // The inbox only references the event (fan-out's inbox-sequencer reads it the same way): the chat
        // log holds the one stored copy of the message and of lifecycle details such as member roles.
        const row = await store.chatLog.get(entry.chatId, ref.chatSeq);
        if (row === null) return [];
        return renderChatEvent(await decodeEvent(row.payload), inboxSeq, target, content);
      }
    },
  };
}
