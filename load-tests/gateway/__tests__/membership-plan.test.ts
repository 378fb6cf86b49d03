import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { createMembershipPlan } from '../membership-plan.js';

test('every chat is created once, inside its block, and each user is in one group and directPerUser direct chats', () => {
  const plan = createMembershipPlan({ prefix: 't', groupSize: 10, directPerUser: 4 });
  const members = new Map<string, Set<string>>();
  for (let user = 0; user < 30; user++) {
    for (const chat of plan.chatsCreatedBy(user)) {
      assert.ok(!members.has(chat.chatId), `${chat.chatId} created twice`);
      const all = new Set([plan.userId(user), ...chat.members]);
      assert.equal(all.size, chat.members.length + 1, 'the creator is not among the other members');
      for (const member of chat.members) assert.equal(plan.blockOf(Number(member.slice(2))), plan.blockOf(user));
      members.set(chat.chatId, all);
    }
  }
  assert.equal(members.size, 3 * plan.chatsPerBlock());
  for (let user = 0; user < 30; user++) {
    const mine = [...members].filter(([, set]) => set.has(plan.userId(user)));
    assert.equal(mine.length, plan.chatsOf(user));
    assert.equal(mine.filter(([id]) => id.startsWith('tg')).length, 1);
    const own = new Set(plan.chatsCreatedBy(user).map((chat) => chat.chatId));
    const byOthers = mine.map(([id]) => id).filter((id) => !own.has(id));
    assert.deepEqual([...plan.chatsCreatedByOthers(user)].sort(), byOthers.sort());
  }
});

test('direct chat ids are the protocol ones, and the group has every block member', () => {
  const plan = createMembershipPlan({ prefix: 'p', groupSize: 4, directPerUser: 2 });
  const [group, direct] = plan.chatsCreatedBy(4);
  assert.deepEqual(group, { chatId: 'pg1', kind: 'group', members: ['pu5', 'pu6', 'pu7'] });
  assert.deepEqual(direct, { chatId: directChatId('pu4', 'pu5'), kind: 'direct', members: ['pu5'] });
  assert.deepEqual(plan.chatsCreatedBy(7)[0]?.members, ['pu4'], 'the last user wraps to the block start');
});

test('sizes out of range are refused', () => {
  assert.throws(() => createMembershipPlan({ prefix: 'x', groupSize: 1, directPerUser: 0 }), RangeError);
  assert.throws(() => createMembershipPlan({ prefix: 'x', groupSize: 10, directPerUser: 3 }), RangeError);
  assert.throws(() => createMembershipPlan({ prefix: 'x', groupSize: 4, directPerUser: 4 }), RangeError);
});
