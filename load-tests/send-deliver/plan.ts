/**
 * Who talks to whom in a send → deliver run, as arithmetic every process recomputes from a few numbers
 * (no lists shipped over IPC): users, devices, chats, and for message `i` its chat, its ordinal within the
 * chat and its sender. Message `i` is due at `start + i / rate` (scheduler.ts).
 *
 * - `direct`: `chats` two-member chats; user `2c` and `2c+1` are chat `c`; message `i` goes to chat
 *   `i mod chats`, its members taking turns. One delivery per message.
 * - `group`: `chats` groups of `members` users (1,024 by default); consecutive messages of a group come
 *   from consecutive members. `members − 1` deliveries per message.
 * - `catchup`: user 0 and `chats` peers, peer `p` (user `p`) in a direct chat with user 0 (chat `p − 1`);
 *   every message is from the peer to user 0. User 0 has two devices: `watch`, online, which tells the
 *   benchmark when every message is in the inbox, and `phone`, offline during the sends, whose resume
 *   is what is measured.
 */
import { directChatId } from '@chatmesh/protocol';

export type Scenario = 'direct' | 'group' | 'catchup';

/** The numbers a plan is built from (sent to the worker processes). */
export interface PlanParams {
  readonly scenario: Scenario;
  /** Short id of the run: user and group ids start with `sd<runId>`. */
  readonly runId: string;
  /** Chats: pairs (direct), groups (group), peers of the catch-up user (catchup). */
  readonly chats: number;
  /** Members of each group (group only; 2 for the others). */
  readonly members: number;
  /** Messages sent in the run. */
  readonly messages: number;
}

/** One device (one WebSocket). */
export interface PlannedDevice {
  readonly user: number;
  readonly deviceId: string;
}

export interface Plan {
  readonly params: PlanParams;
  readonly userCount: number;
  readonly deviceCount: number;
  /** Index of the catch-up scenario's offline device (`phone`), or -1. */
  readonly offlineDevice: number;
  userId(user: number): string;
  device(index: number): PlannedDevice;
  /** The device a user sends from (their only one; catchup's user 0 never sends). */
  deviceOf(user: number): number;
  chatId(chat: number): string;
  chatKind(chat: number): 'direct' | 'group';
  /** Members of a chat, creator first. */
  members(chat: number): readonly number[];
  /** The chats a user is in. */
  chatsOf(user: number): readonly number[];
  /** The position of `user` in `members(chat)`. */
  memberIndex(chat: number, user: number): number;
  chatOf(message: number): number;
  ordinalOf(message: number): number;
  /** The user who sends `message`. */
  senderOf(message: number): number;
  messagesInChat(chat: number): number;
  /** Messages of `chat` that `user` receives (everything but their own). */
  expectedFor(chat: number, user: number): number;
  /** The highest sends per second one user makes in one chat at `rate` messages per second overall. */
  sendRatePerUserChat(rate: number): number;
  /** Deliveries (recipient devices) per message. */
  readonly recipientsPerMessage: number;
  /** The client message id of message `i` (`<runId>.<i>`), and back. */
  clientMessageId(message: number): string;
  messageOf(clientMessageId: string): number | null;
}

export function createPlan(params: PlanParams): Plan {
  const { scenario, runId, chats, messages } = params;
  if (!Number.isInteger(chats) || chats < 1) throw new RangeError('chats must be a positive integer');
  if (!Number.isInteger(messages) || messages < 0) throw new RangeError('messages must be a non-negative integer');
  const size = scenario === 'group' ? params.members : 2;
  if (!Number.isInteger(size) || size < 2) throw new RangeError('members must be at least 2');
  const prefix = `sd${runId}`;
  const userCount = scenario === 'direct' ? 2 * chats : scenario === 'group' ? chats * size : chats + 1;
  const deviceCount = scenario === 'catchup' ? userCount + 1 : userCount;
  const messagesInChat = (chat: number): number => Math.floor(messages / chats) + (chat < messages % chats ? 1 : 0);
  const members = (chat: number): number[] => {
    if (scenario === 'direct') return [2 * chat, 2 * chat + 1];
    if (scenario === 'group') return Array.from({ length: size }, (_, j) => chat * size + j);
    return [chat + 1, 0];
  };
  const memberIndex = (chat: number, user: number): number => {
    const index =
      scenario === 'direct' ? user - 2 * chat : scenario === 'group' ? user - chat * size : user === 0 ? 1 : 0;
    if (index < 0 || index >= size || (scenario === 'catchup' && user !== 0 && user !== chat + 1))
      throw new RangeError(`user ${user} is not in chat ${chat}`);
    return index;
  };
  /** How many of the chat's ordinals `0..n-1` member `j` sends. */
  const sentByMember = (chat: number, j: number): number => {
    const n = messagesInChat(chat);
    if (scenario === 'catchup') return j === 0 ? n : 0;
    return j < n ? Math.floor((n - 1 - j) / size) + 1 : 0;
  };
  const pairChatIds = new Map<number, string>();
  return {
    params,
    userCount,
    deviceCount,
    offlineDevice: scenario === 'catchup' ? 1 : -1,
    recipientsPerMessage: size - 1,
    userId: (user) => `${prefix}-u${user}`,
    device(index) {
      if (!Number.isInteger(index) || index < 0 || index >= deviceCount) throw new RangeError(`no device ${index}`);
      if (scenario !== 'catchup') return { user: index, deviceId: 'd' };
      if (index === 0) return { user: 0, deviceId: 'watch' };
      if (index === 1) return { user: 0, deviceId: 'phone' };
      return { user: index - 1, deviceId: 'd' };
    },
    deviceOf: (user) => (scenario === 'catchup' && user > 0 ? user + 1 : user),
    chatId(chat) {
      if (scenario === 'group') return `${prefix}-g${chat}`;
      let id = pairChatIds.get(chat);
      if (id === undefined) {
        const [a, b] = members(chat) as [number, number];
        id = directChatId(`${prefix}-u${a}`, `${prefix}-u${b}`);
        pairChatIds.set(chat, id);
      }
      return id;
    },
    chatKind: () => (scenario === 'group' ? 'group' : 'direct'),
    members,
    chatsOf(user) {
      if (scenario === 'direct') return [Math.floor(user / 2)];
      if (scenario === 'group') return [Math.floor(user / size)];
      return user === 0 ? Array.from({ length: chats }, (_, c) => c) : [user - 1];
    },
    memberIndex,
    chatOf: (message) => message % chats,
    ordinalOf: (message) => Math.floor(message / chats),
    senderOf(message) {
      const chat = message % chats;
      if (scenario === 'catchup') return chat + 1;
      // members(chat)[ordinal mod size], without building the member list
      return chat * size + (Math.floor(message / chats) % size);
    },
    messagesInChat,
    expectedFor: (chat, user) => messagesInChat(chat) - sentByMember(chat, memberIndex(chat, user)),
    sendRatePerUserChat(rate) {
      if (scenario === 'catchup') return rate / chats;
      return rate / (chats * size);
    },
    clientMessageId: (message) => `${runId}.${message}`,
    messageOf(clientMessageId) {
      const dot = clientMessageId.lastIndexOf('.');
      if (dot < 0 || clientMessageId.slice(0, dot) !== runId) return null;
      const value = Number(clientMessageId.slice(dot + 1));
      return Number.isInteger(value) && value >= 0 && value < messages ? value : null;
    },
  };
}
