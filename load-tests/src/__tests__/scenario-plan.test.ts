import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHAT_LIMITS, isDirectChatId, isValidId } from '@chatmesh/protocol';
import { createChatCommand, createScenarioPlan, originOf } from '../index.js';

test('direct: one 1:1 chat per pair of users, each user in one chat, senders alternate within a chat', () => {
  const plan = createScenarioPlan('direct', { runId: 'r1', directChats: 3, groups: 9 });
  assert.equal(plan.chats.length, 3);
  assert.equal(plan.rowsPerMessage, 2);
  assert.equal(new Set(plan.users).size, 6);
  assert.ok(plan.chats.every((chat) => isDirectChatId(chat.chatId) && chat.kind === 'DIRECT'));
  assert.deepEqual(
    [0, 1, 2].map((i) => plan.senderOf(i).chat.chatId),
    plan.chats.map((chat) => chat.chatId),
  );
  assert.equal(plan.senderOf(0).userId, plan.chats[0]!.members[0]);
  assert.equal(plan.senderOf(3).userId, plan.chats[0]!.members[1]);
  assert.equal(plan.senderOf(6).userId, plan.chats[0]!.members[0]);
});

test('group1024: groups filled to the member limit, with valid ids and the creator as sender of the create', () => {
  const plan = createScenarioPlan('group1024', { runId: 'r2', directChats: 9, groups: 2 });
  assert.equal(plan.chats.length, 2);
  assert.equal(plan.rowsPerMessage, CHAT_LIMITS.maxGroupMembers);
  assert.equal(new Set(plan.users).size, 2 * CHAT_LIMITS.maxGroupMembers);
  assert.ok(plan.users.every(isValidId));
  const chat = plan.chats[1]!;
  assert.ok(isValidId(chat.chatId) && !isDirectChatId(chat.chatId));
  const command = createChatCommand(chat, originOf(chat.creator, 'gw', 'req', 1));
  const create = 'chatmesh.chat.CreateChat' in command.command ? command.command['chatmesh.chat.CreateChat'] : null;
  assert.equal(create?.memberUserIds.length, CHAT_LIMITS.maxGroupMembers - 1, 'the creator is added implicitly');
  assert.ok(!create?.memberUserIds.includes(chat.creator));
  // 2,048 consecutive messages: every member of each group sends exactly one.
  const senders = new Set(Array.from({ length: 2048 }, (_unused, i) => plan.senderOf(i).userId));
  assert.equal(senders.size, 2048);
});
