import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BroadcastFrame, ChatFrame, InboxFrame } from '@chatmesh/protocol';
import { ChatSequencer } from '../index.js';

function message(inboxSeq: number, chatId: string, seq: number): InboxFrame {
  return {
    type: 'messageReceived',
    inboxSeq,
    chatId,
    seq,
    by: { userId: 'bob', deviceId: 'd1' },
    serverTimeMs: 0,
    clientMessageId: `m${seq}`,
    body: `${chatId}#${seq}`,
    envelopes: [],
    attachments: [],
  };
}

function attachment(inboxSeq: number, chatId: string, seq: number, attachmentId: string): InboxFrame {
  return {
    type: 'newAttachment',
    inboxSeq,
    chatId,
    seq,
    attachment: { attachmentId, mimeType: 'image/png', sizeBytes: 1 },
  };
}

/** A broadcast chat's message: no inbox position. */
function broadcast(chatId: string, seq: number): BroadcastFrame {
  return {
    type: 'messageReceived',
    chatId,
    seq,
    by: { userId: 'bob', deviceId: 'd1' },
    serverTimeMs: 0,
    clientMessageId: `m${seq}`,
    body: `${chatId}#${seq}`,
    envelopes: [],
    attachments: [],
  };
}

function broadcastAttachment(chatId: string, seq: number, attachmentId: string): BroadcastFrame {
  return { type: 'newAttachment', chatId, seq, attachment: { attachmentId, mimeType: 'image/png', sizeBytes: 1 } };
}

const keys = (frames: ChatFrame[]): string[] =>
  frames.map((f) =>
    f.type === 'newAttachment' ? `${f.chatId}#${f.seq}:${f.attachment.attachmentId}` : `${f.chatId}#${f.seq}`,
  );

test('frames in order pass through and the cursor follows', () => {
  const s = new ChatSequencer();
  assert.deepEqual(keys(s.accept(message(1, 'a', 1)).emit), ['a#1']);
  assert.deepEqual(keys(s.accept(message(2, 'a', 2)).emit), ['a#2']);
  assert.equal(s.cursor, 2);
});

test('duplicates by inbox position and by (chatId, seq) are dropped and still count for the cursor', () => {
  const s = new ChatSequencer();
  s.accept(message(1, 'a', 1));
  assert.equal(s.accept(message(1, 'a', 1)).duplicate, true);
  const again = s.accept(message(2, 'a', 1));
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.emit, []);
  assert.equal(s.cursor, 2);
});

test('a gap holds later frames of that chat only, the cursor stays before the held frame, and the fill releases them in order', () => {
  const s = new ChatSequencer();
  s.accept(message(1, 'a', 1));
  const held = s.accept(message(2, 'a', 3));
  assert.deepEqual(held.emit, []);
  assert.deepEqual(held.gap, { chatId: 'a', expectedSeq: 2, heldFromSeq: 3 });
  assert.equal(s.accept(message(3, 'a', 4)).gap, undefined, 'one gap event per gap');
  assert.deepEqual(keys(s.accept(message(4, 'b', 7)).emit), ['b#7'], 'other chats flow');
  assert.equal(s.cursor, 1);
  assert.deepEqual(s.gappedChats(), ['a']);
  assert.equal(s.accept(message(3, 'a', 4)).duplicate, true, 'a replayed held frame is not held twice');
  assert.deepEqual(keys(s.accept(message(5, 'a', 2)).emit), ['a#2', 'a#3', 'a#4']);
  assert.equal(s.cursor, 5);
  assert.deepEqual(s.gappedChats(), []);
});

test('releaseChat gives up on a gap and hands the held frames out in seq order', () => {
  const s = new ChatSequencer();
  s.accept(message(1, 'a', 1));
  s.accept(message(2, 'a', 5));
  s.accept(message(3, 'a', 4));
  assert.deepEqual(keys(s.releaseChat('a')), ['a#4', 'a#5']);
  assert.equal(s.cursor, 3);
  assert.equal(s.lastSeq('a'), 5);
});

test('newAttachment frames follow their message, are deduped per attachment, and wait with it behind a gap', () => {
  const s = new ChatSequencer();
  s.accept(message(1, 'a', 1));
  assert.deepEqual(keys(s.accept(message(2, 'a', 2)).emit), ['a#2']);
  assert.deepEqual(keys(s.accept(attachment(3, 'a', 2, 'x')).emit), ['a#2:x']);
  assert.equal(s.accept(attachment(4, 'a', 2, 'x')).duplicate, true);
  s.accept(message(5, 'a', 4));
  s.accept(attachment(6, 'a', 4, 'y'));
  assert.deepEqual(keys(s.accept(message(7, 'a', 3)).emit), ['a#3', 'a#4', 'a#4:y']);
  assert.equal(s.cursor, 7);
});

test('a chat first seen mid-way starts at that frame; advanceCursor skips what the server says was acked', () => {
  const s = new ChatSequencer();
  assert.deepEqual(keys(s.accept(message(1, 'late', 40)).emit), ['late#40']);
  s.advanceCursor(10);
  assert.equal(s.cursor, 10);
  assert.equal(s.isHandled(9), true);
  assert.equal(s.accept(message(11, 'late', 41)).emit.length, 1);
  assert.equal(s.cursor, 11);
});

test('broadcast frames (no inboxSeq): handed out once in seq order, deduped by (chatId, seq), the cursor untouched', () => {
  const s = new ChatSequencer();
  assert.deepEqual(keys(s.accept(broadcast('big', 1)).emit), ['big#1']);
  assert.deepEqual(keys(s.accept(broadcast('big', 2)).emit), ['big#2']);
  assert.equal(s.accept(broadcast('big', 2)).duplicate, true, 'the same (chatId, seq) again');
  assert.equal(s.accept(broadcast('big', 1)).duplicate, true);
  assert.deepEqual(keys(s.accept(broadcastAttachment('big', 2, 'x')).emit), ['big#2:x']);
  assert.equal(s.accept(broadcastAttachment('big', 2, 'x')).duplicate, true, 'per attachment');
  assert.deepEqual(keys(s.accept(broadcast('big', 3)).emit), ['big#3']);
  assert.equal(s.cursor, 0, 'no inbox position moved');
  assert.equal(s.isBroadcast('big'), true);
  assert.equal(s.lastSeq('big'), 3);
});

test('a held broadcast frame never holds the inbox cursor back; inbox frames never make a chat broadcast', () => {
  const s = new ChatSequencer();
  s.accept(broadcast('big', 1));
  const held = s.accept(broadcast('big', 3));
  assert.deepEqual(held.emit, []);
  assert.deepEqual(held.gap, { chatId: 'big', expectedSeq: 2, heldFromSeq: 3 });
  assert.deepEqual(keys(s.accept(message(1, 'a', 1)).emit), ['a#1']);
  assert.deepEqual(keys(s.accept(message(2, 'a', 2)).emit), ['a#2']);
  assert.equal(s.cursor, 2, 'the inbox cursor passes the held broadcast frame');
  assert.equal(s.isBroadcast('a'), false);
  assert.deepEqual(s.chatPositionsToAck(), [{ chatId: 'big', seq: 1 }], 'only the broadcast chat, not past its gap');
  assert.deepEqual(keys(s.accept(broadcast('big', 2)).emit), ['big#2', 'big#3']);
  assert.equal(s.cursor, 2);
  assert.deepEqual(s.chatPositionsToAck(), [{ chatId: 'big', seq: 3 }]);
});

test('chatPositionsToAck lists a broadcast chat when its position rose since markChatPositionsAcked', () => {
  const s = new ChatSequencer();
  assert.deepEqual(s.chatPositionsToAck(), []);
  assert.equal(s.hasChatPositionsToAck, false);
  s.accept(broadcast('big', 5));
  s.accept(broadcast('big', 6));
  s.accept(broadcast('other', 1));
  assert.deepEqual(s.chatPositionsToAck(), [
    { chatId: 'big', seq: 6 },
    { chatId: 'other', seq: 1 },
  ]);
  assert.equal(s.chatFramesToAck, 3);
  assert.deepEqual(s.chatPositionsToAck(), s.chatPositionsToAck(), 'asking does not mark');
  s.markChatPositionsAcked([{ chatId: 'big', seq: 6 }]);
  assert.deepEqual(s.chatPositionsToAck(), [{ chatId: 'other', seq: 1 }]);
  assert.equal(s.chatFramesToAck, 1);
  s.markChatPositionsAcked([{ chatId: 'other', seq: 1 }]);
  assert.equal(s.hasChatPositionsToAck, false);
  assert.equal(s.chatFramesToAck, 0);
  s.accept(broadcast('big', 6));
  assert.deepEqual(s.chatPositionsToAck(), [], 'a duplicate does not move the position');
  s.accept(broadcast('big', 7));
  s.markChatPositionsAcked([{ chatId: 'big', seq: 6 }]);
  assert.deepEqual(s.chatPositionsToAck(), [{ chatId: 'big', seq: 7 }], 'a stale mark leaves the chat due');
  s.markChatPositionsAcked(s.chatPositionsToAck());
  s.resendChatPositions();
  assert.deepEqual(s.chatPositionsToAck(), [
    { chatId: 'big', seq: 7 },
    { chatId: 'other', seq: 1 },
  ]);
  assert.equal(s.chatFramesToAck, 0, 're-sent positions are not new frames');
});

test('a chat that moves from the inbox to broadcast keeps its sequence and is acked per chat from then on', () => {
  const s = new ChatSequencer();
  s.accept(message(1, 'g', 1));
  s.accept(message(2, 'g', 2));
  assert.deepEqual(s.chatPositionsToAck(), []);
  assert.equal(s.accept(broadcast('g', 2)).duplicate, true, 'seq 2 came through the inbox already');
  assert.deepEqual(keys(s.accept(broadcast('g', 3)).emit), ['g#3']);
  assert.equal(s.cursor, 2);
  assert.deepEqual(s.chatPositionsToAck(), [{ chatId: 'g', seq: 3 }]);
});

test('releaseChat on a broadcast chat moves its ack position past the abandoned gap, not the cursor', () => {
  const s = new ChatSequencer();
  s.accept(message(1, 'a', 1));
  s.accept(broadcast('big', 1));
  s.accept(broadcast('big', 4));
  s.markChatPositionsAcked(s.chatPositionsToAck());
  assert.deepEqual(keys(s.releaseChat('big')), ['big#4']);
  assert.deepEqual(s.chatPositionsToAck(), [{ chatId: 'big', seq: 4 }]);
  assert.equal(s.cursor, 1);
});
