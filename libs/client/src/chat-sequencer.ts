import type { InboxFrame } from '@chatmesh/protocol';

/** A gap seen in one chat: frames up to `expectedSeq - 1` were handed out, `heldFromSeq` is waiting. */
export interface ChatGap {
  readonly chatId: string;
  readonly expectedSeq: number;
  readonly heldFromSeq: number;
}

/** What {@link ChatSequencer.accept} decided for one frame. */
export interface SequencerResult {
  /** Frames to hand to the application now, in order (possibly several, when a gap closed). */
  readonly emit: InboxFrame[];
  /** Set when this frame opened a gap in its chat. */
  readonly gap: ChatGap | undefined;
  /** The frame was already handed out (by inbox position or by chat sequence). */
  readonly duplicate: boolean;
}

interface ChatState {
  /** Highest chat seq handed out. */
  lastSeq: number;
  /** Frames beyond a gap, by dedupe key. */
  held: Map<string, InboxFrame>;
  /** Attachment keys handed out at seqs close to `lastSeq` (newAttachment shares its message's seq). */
  attachmentKeys: Set<string>;
}

const MAX_ATTACHMENT_KEYS = 256;

function frameKey(frame: InboxFrame): string {
  return frame.type === 'newAttachment' ? `${frame.seq}:a:${frame.attachment.attachmentId}` : String(frame.seq);
}

/** Messages before their attachments at one seq, then inbox order. */
function compareHeld(a: InboxFrame, b: InboxFrame): number {
  if (a.seq !== b.seq) return a.seq - b.seq;
  const aa = a.type === 'newAttachment' ? 1 : 0;
  const ba = b.type === 'newAttachment' ? 1 : 0;
  return aa !== ba ? aa - ba : a.inboxSeq - b.inboxSeq;
}

/**
 * Turns the stream of inbox frames (replays, live frames, re-sent frames after reconnects and syncs)
 * into what the application sees: each frame once, each chat in `seq` order.
 *
 * - Dedupe by inbox position: a frame at or below the cursor, or already handed above it, is dropped.
 * - Dedupe by `(chatId, seq)` as the last line (docs/protocol.md), and per attachment for
 *   `newAttachment`, which carries its message's seq.
 * - A chat's first frame sets its baseline (a member added later starts at its `membersAdded`); after
 *   that, a frame whose seq jumps is held and reported as a gap, and released when the gap fills
 *   (or by {@link releaseChat} when the caller gives up waiting).
 *
 * The cursor is the inbox position up to which every frame has been handed out (or dropped as a
 * duplicate): what the device may ack. It never passes a held frame, so an unacked, held frame is
 * replayed on the next connection.
 */
export class ChatSequencer {
  private cursorValue: number;
  private maxHandled: number;
  private readonly handledAbove = new Set<number>();
  private readonly chats = new Map<string, ChatState>();

  constructor(initialCursor = 0) {
    this.cursorValue = initialCursor;
    this.maxHandled = initialCursor;
  }

  /** Every inbox frame up to here was handed out or was a duplicate: safe to ack. */
  get cursor(): number {
    return this.cursorValue;
  }

  /** Chats that hold frames behind a gap. */
  gappedChats(): string[] {
    return [...this.chats].filter(([, chat]) => chat.held.size > 0).map(([chatId]) => chatId);
  }

  /** The highest seq handed out for a chat, if any frame of it was seen. */
  lastSeq(chatId: string): number | undefined {
    return this.chats.get(chatId)?.lastSeq;
  }

  /**
   * Moves the cursor forward to a position the server reports as acked (the `hello` cursor of a new
   * client on a device that acked before): frames at or below it will not come again.
   */
  advanceCursor(position: number): void {
    if (position <= this.cursorValue) return;
    this.maxHandled = Math.max(this.maxHandled, position);
    this.cursorValue = position;
    this.recomputeCursor();
  }

  /** Whether a frame at this inbox position was already handed out. */
  isHandled(inboxSeq: number): boolean {
    return inboxSeq <= this.cursorValue || this.handledAbove.has(inboxSeq);
  }

  /** Records an inbox position handled outside chat sequencing (a receipt with an `inboxSeq`). */
  markHandled(inboxSeq: number): void {
    if (inboxSeq <= this.cursorValue) return;
    this.handledAbove.add(inboxSeq);
    this.maxHandled = Math.max(this.maxHandled, inboxSeq);
    this.recomputeCursor();
  }

  /** Takes one inbox frame. */
  accept(frame: InboxFrame): SequencerResult {
    if (this.isHandled(frame.inboxSeq)) return { emit: [], gap: undefined, duplicate: true };
    let chat = this.chats.get(frame.chatId);
    if (chat === undefined) {
      chat = { lastSeq: frame.seq - 1, held: new Map(), attachmentKeys: new Set() };
      this.chats.set(frame.chatId, chat);
    }
    const emit: InboxFrame[] = [];
    let gap: ChatGap | undefined;
    let duplicate = false;
    const key = frameKey(frame);
    if (frame.type === 'newAttachment' && frame.seq <= chat.lastSeq) {
      if (chat.attachmentKeys.has(key)) duplicate = true;
      else this.handOut(chat, frame, emit);
    } else if (frame.type !== 'newAttachment' && frame.seq <= chat.lastSeq) {
      duplicate = true;
    } else if (frame.type !== 'newAttachment' && frame.seq === chat.lastSeq + 1) {
      this.handOut(chat, frame, emit);
      this.drain(chat, emit);
    } else if (chat.held.has(key)) {
      // Already waiting behind the gap: the replayed copy changes nothing, and the held one keeps the cursor back.
      return { emit: [], gap: undefined, duplicate: true };
    } else {
      const wasGapped = chat.held.size > 0;
      chat.held.set(key, frame);
      if (!wasGapped) gap = { chatId: frame.chatId, expectedSeq: chat.lastSeq + 1, heldFromSeq: frame.seq };
    }
    if (duplicate) this.markHandled(frame.inboxSeq);
    else this.recomputeCursor();
    return { emit, gap, duplicate };
  }

  /** Gives up waiting on a chat's gap: hands out its held frames in order and returns them. */
  releaseChat(chatId: string): InboxFrame[] {
    const chat = this.chats.get(chatId);
    if (chat === undefined || chat.held.size === 0) return [];
    const emit: InboxFrame[] = [];
    const held = [...chat.held.values()].sort(compareHeld);
    chat.held.clear();
    for (const frame of held) {
      if (frame.type !== 'newAttachment' && frame.seq <= chat.lastSeq) this.markHandled(frame.inboxSeq);
      else this.handOut(chat, frame, emit);
    }
    this.recomputeCursor();
    return emit;
  }

  private handOut(chat: ChatState, frame: InboxFrame, emit: InboxFrame[]): void {
    if (frame.type === 'newAttachment') {
      chat.attachmentKeys.add(frameKey(frame));
      if (chat.attachmentKeys.size > MAX_ATTACHMENT_KEYS) {
        const oldest = chat.attachmentKeys.values().next().value;
        if (oldest !== undefined) chat.attachmentKeys.delete(oldest);
      }
    }
    chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
    this.handledAbove.add(frame.inboxSeq);
    this.maxHandled = Math.max(this.maxHandled, frame.inboxSeq);
    emit.push(frame);
  }

  private drain(chat: ChatState, emit: InboxFrame[]): void {
    const held = [...chat.held.values()].sort(compareHeld);
    for (const frame of held) {
      const isAttachment = frame.type === 'newAttachment';
      if (frame.seq > chat.lastSeq + 1 || (isAttachment && frame.seq > chat.lastSeq)) break;
      chat.held.delete(frameKey(frame));
      if (!isAttachment && frame.seq <= chat.lastSeq) this.markHandled(frame.inboxSeq);
      else this.handOut(chat, frame, emit);
    }
  }

  private recomputeCursor(): void {
    let minHeld = Number.POSITIVE_INFINITY;
    for (const chat of this.chats.values()) {
      for (const frame of chat.held.values()) minHeld = Math.min(minHeld, frame.inboxSeq);
    }
    const next = Math.min(this.maxHandled, minHeld - 1);
    if (next > this.cursorValue) {
      this.cursorValue = next;
      for (const seq of this.handledAbove) if (seq <= next) this.handledAbove.delete(seq);
    }
  }
}
