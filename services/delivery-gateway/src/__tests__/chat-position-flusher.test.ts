import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatPositionFlusher } from '../chat-position-flusher.js';

type Write = [string, string, number];

function recorder(): { writes: Write[]; write: (owner: { id: string }, chatId: string, seq: number) => Promise<void> } {
  const writes: Write[] = [];
  return { writes, write: async (owner, chatId, seq) => void writes.push([owner.id, chatId, seq]) };
}

test('acks of one interval become one write per device and chat, with the highest position', async () => {
  const { writes, write } = recorder();
  const flusher = new ChatPositionFlusher<{ id: string }>(60_000, write);
  const a = { id: 'a' };
  const b = { id: 'b' };
  for (const seq of [3, 7, 5]) await flusher.note(a, 'big', seq, 0);
  await flusher.note(a, 'other', 2, 0);
  await flusher.note(b, 'big', 4, 0);
  assert.deepEqual(writes, [], 'nothing before the interval ends');
  assert.equal(flusher.size, 3);
  await flusher.flush();
  assert.deepEqual(writes.sort(), [
    ['a', 'big', 7],
    ['a', 'other', 2],
    ['b', 'big', 4],
  ]);
  await flusher.flush();
  assert.equal(writes.length, 3, 'a flush with nothing new writes nothing');
  await flusher.stop();
});

test("a closing socket's positions are written at once; stop writes what waits; interval 0 writes every ack", async () => {
  const { writes, write } = recorder();
  const flusher = new ChatPositionFlusher<{ id: string }>(60_000, write);
  const a = { id: 'a' };
  const b = { id: 'b' };
  await flusher.note(a, 'big', 9, 0);
  await flusher.note(b, 'big', 8, 0);
  await flusher.flushOwner(a);
  assert.deepEqual(writes, [['a', 'big', 9]]);
  await flusher.stop();
  assert.deepEqual(writes, [
    ['a', 'big', 9],
    ['b', 'big', 8],
  ]);

  const immediate = recorder();
  const direct = new ChatPositionFlusher<{ id: string }>(0, immediate.write);
  await direct.note(a, 'big', 1, 0);
  await direct.note(a, 'big', 2, 0);
  assert.deepEqual(immediate.writes, [
    ['a', 'big', 1],
    ['a', 'big', 2],
  ]);
  await direct.stop();
});

test('the timer flushes by itself', async () => {
  const { writes, write } = recorder();
  const flusher = new ChatPositionFlusher<{ id: string }>(20, write);
  await flusher.note({ id: 'a' }, 'big', 5, 0);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(writes, [['a', 'big', 5]]);
  await flusher.stop();
});
