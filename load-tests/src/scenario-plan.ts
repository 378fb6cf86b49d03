import { CHAT_LIMITS, directChatId } from '@chatmesh/protocol';
import type { ChatCommand, CommandOrigin } from '@chatmesh/schemas';
import type { BenchScenario } from './bench-options.js';

/** One chat the benchmark creates before it measures. */
export interface PlannedChat {
  readonly chatId: string;
  readonly kind: 'DIRECT' | 'GROUP';
  /** Sends the CreateChat and becomes the first admin. */
  readonly creator: string;
  /** Every member, creator first. */
  readonly members: readonly string[];
}

/** The chats and users of one scenario, and who sends the i-th message where. */
export interface ScenarioPlan {
  readonly scenario: BenchScenario;
  readonly chats: readonly PlannedChat[];
  /** Every user of the run (each appears in exactly one chat). */
  readonly users: readonly string[];
  /** Inbox rows one message makes: one per member, the sender included (fan-out's rule). */
  readonly rowsPerMessage: number;
  /** Chat and sender of the i-th message: chats in turn, and within a chat its members in turn. */
  senderOf(index: number): { readonly chat: PlannedChat; readonly userId: string };
}

/** Options of {@link createScenarioPlan}. */
export interface ScenarioPlanOptions {
  /** Prefix of every id of the run, so runs never share chats or users (`[A-Za-z0-9]`). */
  readonly runId: string;
  /** Chats of `direct`. */
  readonly directChats: number;
  /** Groups of `group1024`, each of {@link CHAT_LIMITS.maxGroupMembers} members. */
  readonly groups: number;
}

/** Plans the chats of a scenario: `direct` pairs users two by two; `group1024` fills groups to the limit. */
export function createScenarioPlan(scenario: BenchScenario, options: ScenarioPlanOptions): ScenarioPlan {
  const { runId } = options;
  const chats: PlannedChat[] = [];
  if (scenario === 'direct') {
    for (let i = 0; i < options.directChats; i++) {
      const a = `${runId}.u${2 * i}`;
      const b = `${runId}.u${2 * i + 1}`;
      chats.push({ chatId: directChatId(a, b), kind: 'DIRECT', creator: a, members: [a, b] });
    }
  } else {
    const size = CHAT_LIMITS.maxGroupMembers;
    for (let g = 0; g < options.groups; g++) {
      const members = Array.from({ length: size }, (_unused, m) => `${runId}.g${g}.u${m}`);
      chats.push({ chatId: `${runId}.g${g}`, kind: 'GROUP', creator: members[0]!, members });
    }
  }
  const rowsPerMessage = chats[0]?.members.length ?? 0;
  return {
    scenario,
    chats,
    users: chats.flatMap((chat) => chat.members),
    rowsPerMessage,
    senderOf(index) {
      const chat = chats[index % chats.length]!;
      // Consecutive messages of one chat come from different members, so no sender nears ingest's rate limit.
      const turn = Math.floor(index / chats.length);
      return { chat, userId: chat.members[turn % chat.members.length]! };
    },
  };
}

/** The device every benchmark user sends from and, with `--online all`, is connected with. */
export const BENCH_DEVICE_ID = 'bench-device';

/** The origin of a command from `userId` through the driver's gateway. */
export function originOf(userId: string, gatewayId: string, requestId: string, nowMs: number): CommandOrigin {
  return { userId, deviceId: BENCH_DEVICE_ID, gatewayId, requestId, receivedAtMs: nowMs };
}

/** The CreateChat command of a planned chat, sent by its creator. */
export function createChatCommand(chat: PlannedChat, origin: CommandOrigin): ChatCommand {
  return {
    chatId: chat.chatId,
    origin,
    traceparent: null,
    command: {
      'chatmesh.chat.CreateChat': {
        kind: chat.kind,
        memberUserIds: chat.members.filter((member) => member !== chat.creator),
        name: chat.kind === 'GROUP' ? `bench ${chat.chatId}` : null,
        pictureAttachmentId: null,
      },
    },
  };
}

/** A plaintext SendMessage of `body` with the client message id `clientMessageId`. */
export function sendMessageCommand(
  chatId: string,
  origin: CommandOrigin,
  clientMessageId: string,
  body: string,
): ChatCommand {
  return {
    chatId,
    origin,
    traceparent: null,
    command: {
      'chatmesh.chat.SendMessage': {
        afterClientMessageId: null,
        clientMessageId,
        content: { body, envelopes: [], attachments: [] },
      },
    },
  };
}
