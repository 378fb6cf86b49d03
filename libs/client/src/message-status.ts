import type { ServerFrame } from '@chatmesh/protocol';

/** The state of one of the user's own messages (ticks): sent < delivered < read; failed per recipient. */
export type MessageStatus = 'sent' | 'delivered' | 'read' | 'failed';

/** The payload of the client's `status` event: one own message changed state. */
export interface MessageStatusEvent {
  readonly chatId: string;
  readonly seq: number;
  /** The message's clientMessageId, when this client knows it (sent here, or echoed from another device). */
  readonly clientMessageId: string | null;
  readonly status: MessageStatus;
  /** The recipient whose progress this is (groups report per member); null for the message as a whole. */
  readonly byUserId: string | null;
}

type ReceiptFrame = Extract<ServerFrame, { type: 'receipt' }>;

const RANK: Record<MessageStatus, number> = { sent: 1, delivered: 2, read: 3, failed: 0 };

interface OwnMessage {
  readonly clientMessageId: string | null;
  status: MessageStatus;
  /** Per recipient (groups), created at the first per-member receipt. */
  byUser: Map<string, MessageStatus> | null;
}

interface ChatStatuses {
  readonly messages: Map<number, OwnMessage>;
  /** Aggregate receipts seen for the chat: own messages up to these seqs are delivered / read. */
  delivered: number;
  read: number;
}

/** Whether `next` may replace `current`: only forward; failed only over sent (never over delivered or read). */
function moves(current: MessageStatus | undefined, next: MessageStatus): boolean {
  if (current === undefined) return true;
  if (next === 'failed') return current === 'sent';
  return current !== 'failed' ? RANK[next] > RANK[current] : false;
}

/**
 * The status of the user's own messages, from acks (sent) and `receipt` frames (delivered, read,
 * failed). A receipt covers a range of chat seqs and applies to this user's messages in it; statuses
 * only move forward. Aggregate receipts are also kept per chat as "up to" marks, so a message whose ack
 * arrives after its receipt still gets its state. Bounded: the newest {@link MessageStatusTracker.MAX_PER_CHAT}
 * messages per chat are kept.
 */
export class MessageStatusTracker {
  static readonly MAX_PER_CHAT = 1000;
  private readonly chats = new Map<string, ChatStatuses>();

  /** An own message is stored with `seq` (ack, or its echo from another device): 'sent', plus what marks cover. */
  sent(chatId: string, seq: number, clientMessageId: string | null): MessageStatusEvent[] {
    const chat = this.chat(chatId);
    if (chat.messages.has(seq)) return [];
    const message: OwnMessage = { clientMessageId, status: 'sent', byUser: null };
    chat.messages.set(seq, message);
    if (chat.messages.size > MessageStatusTracker.MAX_PER_CHAT) {
      const oldest = Math.min(...chat.messages.keys());
      chat.messages.delete(oldest);
    }
    const events = [this.event(chatId, seq, message, 'sent', null)];
    const covered: MessageStatus | null = chat.read >= seq ? 'read' : chat.delivered >= seq ? 'delivered' : null;
    if (covered !== null) {
      message.status = covered;
      events.push(this.event(chatId, seq, message, covered, null));
    }
    return events;
  }

  /** A `receipt` frame: the events of the own messages whose state moved. */
  receipt(frame: ReceiptFrame): MessageStatusEvent[] {
    const chat = this.chat(frame.chatId);
    if (frame.byUserId === null && frame.status === 'delivered')
      chat.delivered = Math.max(chat.delivered, frame.upToSeq);
    if (frame.byUserId === null && frame.status === 'read') {
      chat.read = Math.max(chat.read, frame.upToSeq);
      chat.delivered = Math.max(chat.delivered, frame.upToSeq);
    }
    const events: MessageStatusEvent[] = [];
    const seqs = [...chat.messages.keys()]
      .filter((s) => s >= frame.fromSeq && s <= frame.upToSeq)
      .sort((a, b) => a - b);
    for (const seq of seqs) {
      const message = chat.messages.get(seq)!;
      if (frame.byUserId !== null) {
        const byUser = (message.byUser ??= new Map());
        const current = byUser.get(frame.byUserId) ?? (message.status === 'failed' ? 'sent' : message.status);
        if (moves(current, frame.status)) {
          byUser.set(frame.byUserId, frame.status);
          events.push(this.event(frame.chatId, seq, message, frame.status, frame.byUserId));
        }
        // A recipient that failed makes the whole message failed unless it already reached everyone.
        if (frame.status !== 'failed') continue;
      }
      if (moves(message.status, frame.status)) {
        message.status = frame.status;
        events.push(this.event(frame.chatId, seq, message, frame.status, null));
      }
    }
    return events;
  }

  /** The status of an own message (of one recipient when `byUserId` is given), if this client tracks it. */
  status(chatId: string, seq: number, byUserId?: string): MessageStatus | undefined {
    const message = this.chats.get(chatId)?.messages.get(seq);
    if (message === undefined) return undefined;
    if (byUserId === undefined) return message.status;
    return message.byUser?.get(byUserId) ?? (message.status === 'failed' ? 'sent' : message.status);
  }

  private chat(chatId: string): ChatStatuses {
    let chat = this.chats.get(chatId);
    if (chat === undefined) this.chats.set(chatId, (chat = { messages: new Map(), delivered: 0, read: 0 }));
    return chat;
  }

  private event(
    chatId: string,
    seq: number,
    message: OwnMessage,
    status: MessageStatus,
    byUserId: string | null,
  ): MessageStatusEvent {
    return { chatId, seq, clientMessageId: message.clientMessageId, status, byUserId };
  }
}
