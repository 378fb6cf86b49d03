import { serverFrameSchema, type ChatFrame } from '@chatmesh/protocol';
import type { ChatSequencer } from './chat-sequencer.js';

/** Part of a chat's history the server no longer keeps (its chat log retention): these seqs never come. */
export interface HistoryGapEvent {
  readonly chatId: string;
  /** First chat seq lost (inclusive). */
  readonly fromSeq: number;
  /** Last chat seq lost (inclusive). */
  readonly toSeq: number;
}

/** What {@link resyncFromHistory} needs from the client. */
export interface HistoryResyncDeps {
  /** An authenticated GET on the gateway's HTTP API (throws ClientError on failure). */
  get<T>(path: string): Promise<T>;
  readonly sequencer: ChatSequencer;
  /** Where the application's history of a chat this client has not seen ends (see `historyPosition`). */
  readonly historyPosition: ((chatId: string) => number | undefined) | undefined;
  /** Frames to hand to the application, in order. */
  emit(frames: readonly ChatFrame[]): void;
  /** A lost part of a chat's history, reported before the frames after it. */
  historyGap(gap: HistoryGapEvent): void;
  /** False once the connection that asked for this resync is gone: stop (the next one asks again). */
  current(): boolean;
}

interface HistoryPage {
  readonly events: unknown[];
  readonly hasMore: boolean;
  readonly expired?: { readonly fromSeq: number; readonly toSeq: number };
  readonly lastSeq?: number;
}

/** Events per history page. */
const PAGE_SIZE = 200;

/**
 * After a `syncGap` (inbox entries expired before this device read them), catches every chat of the user up from its
 * history: the messages after the last seq the client (or the app) has, in order, each once (the sequencer drops what
 * it already handed out), and an explicit {@link HistoryGapEvent} for what the chat log no longer keeps. Any chat may
 * have had entries in the lost range, so all are fetched; chats with nothing new cost one empty page.
 */
export async function resyncFromHistory(deps: HistoryResyncDeps): Promise<void> {
  const { chats } = await deps.get<{ chats: Array<{ chatId: string; joinedSeq: number }> }>('/v1/chats');
  for (const { chatId, joinedSeq } of chats) {
    let after = deps.sequencer.lastSeq(chatId) ?? deps.historyPosition?.(chatId) ?? joinedSeq - 1;
    for (;;) {
      if (!deps.current()) return;
      const page = await deps.get<HistoryPage>(
        `/v1/chats/${encodeURIComponent(chatId)}/messages?after=${Math.max(0, after)}&limit=${PAGE_SIZE}`,
      );
      if (!deps.current()) return;
      if (page.expired !== undefined) {
        deps.historyGap({ chatId, fromSeq: page.expired.fromSeq, toSeq: page.expired.toSeq });
        deps.emit(deps.sequencer.skipTo(chatId, page.expired.toSeq));
      }
      const frames: ChatFrame[] = [];
      for (const event of page.events) {
        const parsed = serverFrameSchema.safeParse(event);
        if (!parsed.success || !isChatFrame(parsed.data)) continue;
        frames.push(...deps.sequencer.accept(parsed.data, true).emit);
      }
      deps.emit(frames);
      const next = page.lastSeq ?? after;
      if (!page.hasMore || next <= after) break;
      after = next;
    }
  }
}

function isChatFrame(frame: { readonly type: string }): frame is ChatFrame {
  return (
    frame.type === 'messageReceived' ||
    frame.type === 'newAttachment' ||
    frame.type === 'chatCreated' ||
    frame.type === 'chatUpdated' ||
    frame.type === 'membersAdded' ||
    frame.type === 'membersRemoved'
  );
}
