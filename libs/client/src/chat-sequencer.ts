import type { ChatFrame } from '@chatmesh/protocol';

/** A gap seen in one chat: frames up to `expectedSeq - 1` were handed out, `heldFromSeq` is waiting. */
export interface ChatGap {
  readonly chatId: string;
  readonly expectedSeq: number;
  readonly heldFromSeq: number;
}

/** A device's position in one broadcast chat: every frame up to `seq` was handed to the application. */
export interface ChatPosition {
  readonly chatId: string;
  readonly seq: number;
}

/** What {@link ChatSequencer.accept} decided for one frame. */
export interface SequencerResult {
  /** Frames to hand to the application now, in order (possibly several, when a gap closed). */
  readonly emit: ChatFrame[];
  /** Set when this frame opened a gap in its chat. */
  readonly gap: ChatGap | undefined;
  /** The frame was already handed out (by inbox position or by chat sequence). */
  readonly duplicate: boolean;
}

interface ChatState {
  /** Highest chat seq handed out. */
  lastSeq: number;
  /** Frames beyond a gap, by dedupe key. */
  held: Map<string, ChatFrame>;
  /** Attachment keys handed out at seqs close to `lastSeq` (newAttachment shares its message's seq). */
  attachmentKeys: Set<string>;
  /** A frame without `inboxSeq` was seen: a broadcast chat, whose position is acked per chat. */
  broadcast: boolean;
  /** Whether a frame was handed out (before that, `lastSeq` is only the chat's baseline). */
  started: boolean;
}

const MAX_ATTACHMENT_KEYS = 256;

function frameKey(frame: ChatFrame): string {
  return frame.type === 'newAttachment' ? `${frame.seq}:a:${frame.attachment.attachmentId}` : String(frame.seq);
}

/** Messages before their attachments at one seq, then inbox order (arrival order without inbox positions). */
function compareHeld(a: ChatFrame, b: ChatFrame): number {
  if (a.seq !== b.seq) return a.seq - b.seq;
  const aa = a.type === 'newAttachment' ? 1 : 0;
  const ba = b.type === 'newAttachment' ? 1 : 0;
  if (aa !== ba) return aa - ba;
  return a.inboxSeq === undefined || b.inboxSeq === undefined ? 0 : a.inboxSeq - b.inboxSeq;
}

/**
 * Turns the stream of chat frames (replays, live frames, re-sent frames after reconnects and syncs)
 * into what the application sees: each frame once, each chat in `seq` order. Frames come from the
 * device's inbox (with `inboxSeq`) or from a broadcast chat (protocol 2: no `inboxSeq`).
 *
 * - Dedupe by inbox position: a frame at or below the cursor, or already handed above it, is dropped.
 *   Frames without `inboxSeq` skip this and never hold back or move the cursor.
 * - Dedupe by `(chatId, seq)` as the last line (docs/protocol.md), and per attachment for
 *   `newAttachment`, which carries its message's seq.
 * - A chat's first frame sets its baseline (a member added later starts at its `membersAdded`); after
 *   that, a frame whose seq jumps is held and reported as a gap, and released when the gap fills
 *   (or by {@link releaseChat} when the caller gives up waiting).
 *
 * The cursor is the inbox position up to which every frame has been handed out (or dropped as a
 * duplicate): what the device may ack. It never passes a held frame, so an unacked, held frame is
 * replayed on the next connection.
 *
 * Broadcast chats (a frame without `inboxSeq` was seen) are acked per chat: {@link chatPositionsToAck}
 * lists each whose handed-out `lastSeq` rose since {@link markChatPositionsAcked} recorded it. The
 * position never passes a held gap (only {@link releaseChat}, giving up on the gap, moves past it).
 */
export class ChatSequencer {
  private cursorValue: number;
  private maxHandled: number;
  private readonly handledAbove = new Set<number>();
  private readonly chats = new Map<string, ChatState>();
  /** Broadcast chats whose position is due in an ack, with the number of frames handed out since. */
  private readonly chatsToAck = new Map<string, number>();
  private chatFramesToAckCount = 0;

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

  /** Whether a frame without `inboxSeq` was seen in this chat: its position is acked per chat. */
  isBroadcast(chatId: string): boolean {
    return this.chats.get(chatId)?.broadcast ?? false;
  }

  /**
   * The broadcast chats whose handed-out position rose since it was last marked acked, each with its
   * `lastSeq` (never past a held gap). Unchanged until {@link markChatPositionsAcked}.
   */
  chatPositionsToAck(): ChatPosition[] {
    const positions: ChatPosition[] = [];
    for (const chatId of this.chatsToAck.keys()) {
      const chat = this.chats.get(chatId);
      if (chat !== undefined) positions.push({ chatId, seq: chat.lastSeq });
    }
    return positions;
  }

  /** Whether some broadcast chat's position is due in an ack. */
  get hasChatPositionsToAck(): boolean {
    return this.chatsToAck.size > 0;
  }

  /** Broadcast chat frames handed out since their chat's position was last marked acked (ack batching). */
  get chatFramesToAck(): number {
    return this.chatFramesToAckCount;
  }

  /** Records positions as sent in an ack: a chat is due again once its `lastSeq` passes the marked seq. */
  markChatPositionsAcked(positions: readonly ChatPosition[]): void {
    for (const { chatId, seq } of positions) {
      const frames = this.chatsToAck.get(chatId);
      const chat = this.chats.get(chatId);
      if (frames === undefined || chat === undefined || chat.lastSeq > seq) continue;
      this.chatsToAck.delete(chatId);
      this.chatFramesToAckCount -= frames;
    }
  }

  /**
   * Makes every broadcast chat's position due again (a new connection: the gateway confirms no chat
   * positions, so any ack lost with the last connection is repeated).
   */
  resendChatPositions(): void {
    for (const [chatId, chat] of this.chats) {
      if (chat.broadcast && chat.started && !this.chatsToAck.has(chatId)) this.chatsToAck.set(chatId, 0);
    }
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

  /**
   * Counts every inbox position up to `inboxSeq` as seen (a `syncGap`'s range, whose entries expired and never
   * come): the cursor moves past them once nothing before is held.
   */
  markSeenThrough(inboxSeq: number): void {
    if (inboxSeq <= this.maxHandled) return;
    this.maxHandled = inboxSeq;
    this.recomputeCursor();
  }

  /**
   * A chat's seqs up to `seq` will never come (the chat log no longer keeps them): its position moves there, and held
   * frames right after it are handed out and returned.
   */
  skipTo(chatId: string, seq: number): ChatFrame[] {
    let chat = this.chats.get(chatId);
    if (chat === undefined) {
      chat = { lastSeq: seq, held: new Map(), attachmentKeys: new Set(), broadcast: false, started: true };
      this.chats.set(chatId, chat);
      return [];
    }
    if (seq <= chat.lastSeq) return [];
    chat.lastSeq = seq;
    chat.started = true;
    const emit: ChatFrame[] = [];
    this.drain(chat, emit);
    this.recomputeCursor();
    return emit;
  }

  /**
   * Takes one chat frame (from the inbox, or of a broadcast chat without `inboxSeq`). `fromHistory`: a frame of the
   * chat history fetched over HTTP (no `inboxSeq`, but not a broadcast chat's).
   */
  accept(frame: ChatFrame, fromHistory = false): SequencerResult {
    if (frame.inboxSeq !== undefined && this.isHandled(frame.inboxSeq)) {
      return { emit: [], gap: undefined, duplicate: true };
    }
    let chat = this.chats.get(frame.chatId);
    if (chat === undefined) {
      chat = { lastSeq: frame.seq - 1, held: new Map(), attachmentKeys: new Set(), broadcast: false, started: false };
      this.chats.set(frame.chatId, chat);
    }
    if (frame.inboxSeq === undefined && !fromHistory) chat.broadcast = true;
    const emit: ChatFrame[] = [];
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
    if (!duplicate) this.recomputeCursor();
    else if (frame.inboxSeq !== undefined) this.markHandled(frame.inboxSeq);
    return { emit, gap, duplicate };
  }

  /** Gives up waiting on a chat's gap: hands out its held frames in order and returns them. */
  releaseChat(chatId: string): ChatFrame[] {
    const chat = this.chats.get(chatId);
    if (chat === undefined || chat.held.size === 0) return [];
    const emit: ChatFrame[] = [];
    const held = [...chat.held.values()].sort(compareHeld);
    chat.held.clear();
    for (const frame of held) {
      if (frame.type !== 'newAttachment' && frame.seq <= chat.lastSeq) this.dropHeld(frame);
      else this.handOut(chat, frame, emit);
    }
    this.recomputeCursor();
    return emit;
  }

  /** A held frame that turned out to be a duplicate: its inbox position (if any) counts as handled. */
  private dropHeld(frame: ChatFrame): void {
    if (frame.inboxSeq !== undefined) this.markHandled(frame.inboxSeq);
  }

  private handOut(chat: ChatState, frame: ChatFrame, emit: ChatFrame[]): void {
    if (frame.type === 'newAttachment') {
      chat.attachmentKeys.add(frameKey(frame));
      if (chat.attachmentKeys.size > MAX_ATTACHMENT_KEYS) {
        const oldest = chat.attachmentKeys.values().next().value;
        if (oldest !== undefined) chat.attachmentKeys.delete(oldest);
      }
    }
    chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
    chat.started = true;
    if (frame.inboxSeq !== undefined) {
      this.handledAbove.add(frame.inboxSeq);
      this.maxHandled = Math.max(this.maxHandled, frame.inboxSeq);
    }
    if (chat.broadcast) {
      this.chatsToAck.set(frame.chatId, (this.chatsToAck.get(frame.chatId) ?? 0) + 1);
      this.chatFramesToAckCount += 1;
    }
    emit.push(frame);
  }

  private drain(chat: ChatState, emit: ChatFrame[]): void {
    const held = [...chat.held.values()].sort(compareHeld);
    for (const frame of held) {
      const isAttachment = frame.type === 'newAttachment';
      if (frame.seq > chat.lastSeq + 1 || (isAttachment && frame.seq > chat.lastSeq)) break;
      chat.held.delete(frameKey(frame));
      if (!isAttachment && frame.seq <= chat.lastSeq) this.dropHeld(frame);
      else this.handOut(chat, frame, emit);
    }
  }

  private recomputeCursor(): void {
    let minHeld = Number.POSITIVE_INFINITY;
    for (const chat of this.chats.values()) {
      for (const frame of chat.held.values()) {
        if (frame.inboxSeq !== undefined) minHeld = Math.min(minHeld, frame.inboxSeq);
      }
    }
    const next = Math.min(this.maxHandled, minHeld - 1);
    if (next > this.cursorValue) {
      this.cursorValue = next;
      for (const seq of this.handledAbove) if (seq <= next) this.handledAbove.delete(seq);
    }
  }
}
