import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  branchNameOf,
  branchValue,
  CHAT_EVENT_EVENT_BRANCHES,
  isBranch,
  matchBranch,
  unhandledBranch,
  type ChatEventEvent,
} from '../index.js';

/** Widens a literal to the whole union, as a decoded value is typed (TypeScript would narrow a literal). */
const asBody = (value: ChatEventEvent): ChatEventEvent => value;
const removed = asBody({ 'chatmesh.chat.MembersRemoved': { userIds: ['bob'], reason: 'LEFT' } });
const updated = asBody({
  'chatmesh.chat.ChatUpdated': { name: 'team', pictureAttachmentId: null, pictureCleared: false },
});

test('branchValue returns the branch held, and undefined for another branch', () => {
  assert.deepEqual(branchValue(removed, 'chatmesh.chat.MembersRemoved'), { userIds: ['bob'], reason: 'LEFT' });
  assert.equal(branchValue(removed, 'chatmesh.chat.ChatUpdated'), undefined);
  // @ts-expect-error a name that is not a branch of ChatEvent.event does not compile.
  assert.equal(branchValue(removed, 'chatmesh.chat.MemberRemoved'), undefined);
});

test('isBranch narrows to the branch it names', () => {
  assert.equal(isBranch(updated, 'chatmesh.chat.ChatUpdated') && updated['chatmesh.chat.ChatUpdated'].name, 'team');
  assert.equal(isBranch(updated, 'chatmesh.chat.MembersRemoved'), false);
});

test('matchBranch calls the handler of the branch held', () => {
  const describe = (body: ChatEventEvent) =>
    matchBranch(body, {
      'chatmesh.chat.MessageReceived': (m) => `message ${m.clientMessageId}`,
      'chatmesh.chat.ChatCreated': (c) => `created ${c.kind}`,
      'chatmesh.chat.ChatUpdated': (u) => `renamed ${u.name}`,
      'chatmesh.chat.MembersAdded': (a) => `added ${a.members.length}`,
      'chatmesh.chat.MembersRemoved': (r) => `removed ${r.userIds.join(',')}`,
    });
  assert.equal(describe(removed), 'removed bob');
  assert.equal(describe(updated), 'renamed team');
});

test('a value holding no branch or two is refused with CM_ERR_SCHEMA_UNION_BRANCH', () => {
  assert.throws(() => branchNameOf({}), { code: 'CM_ERR_SCHEMA_UNION_BRANCH' });
  assert.throws(() => branchNameOf({ ...removed, ...updated }), { code: 'CM_ERR_SCHEMA_UNION_BRANCH' });
  assert.equal(branchNameOf(removed), 'chatmesh.chat.MembersRemoved');
});

test('an exhausted isBranch chain ends in unhandledBranch, which throws if a hand-built value reaches it', () => {
  const kind = (body: ChatEventEvent): string => {
    if (isBranch(body, 'chatmesh.chat.MessageReceived')) return 'message';
    if (isBranch(body, 'chatmesh.chat.ChatCreated')) return 'created';
    if (isBranch(body, 'chatmesh.chat.ChatUpdated')) return 'updated';
    if (isBranch(body, 'chatmesh.chat.MembersAdded')) return 'added';
    if (isBranch(body, 'chatmesh.chat.MembersRemoved')) return 'removed';
    return unhandledBranch(body);
  };
  assert.equal(kind(removed), 'removed');
  assert.throws(() => kind({ 'chatmesh.chat.Unknown': {} } as unknown as ChatEventEvent), {
    code: 'CM_ERR_SCHEMA_UNION_BRANCH',
  });
  const incomplete = (body: ChatEventEvent): string => {
    if (isBranch(body, 'chatmesh.chat.MessageReceived')) return 'message';
    // @ts-expect-error four branches are left, so body is not never here.
    return unhandledBranch(body);
  };
  assert.throws(() => incomplete(removed), { code: 'CM_ERR_SCHEMA_UNION_BRANCH' });
});

test('the generated branch list names every branch of the union type, in schema order', () => {
  const all: ReadonlyArray<keyof ChatEventEvent | string> = CHAT_EVENT_EVENT_BRANCHES;
  assert.deepEqual(all, [
    'chatmesh.chat.MessageReceived',
    'chatmesh.chat.ChatCreated',
    'chatmesh.chat.ChatUpdated',
    'chatmesh.chat.MembersAdded',
    'chatmesh.chat.MembersRemoved',
  ]);
});
