/**
 * Prepares the users of a k6 run before k6 starts: `pairs` direct chats created through the protocol
 * (the first user of each pair connects and sends `createChat`), and a token for every user's device,
 * written with the chat ids to a JSON file the scenario scripts open. k6 could sign HS256 itself, but the
 * stack checks ES256 against a JWKS, so tokens are minted here for both modes alike.
 */
import { writeFile } from 'node:fs/promises';
import { directChatId } from '@chatmesh/protocol';
import WebSocket from 'ws';
import { BenchError } from '../src/index.js';
import { createTokenFactory, type TokenSigner } from '../send-deliver/tokens.js';

/** The device id every k6 user connects with. */
export const K6_DEVICE_ID = 'k6';

export interface K6User {
  readonly userId: string;
  readonly peerId: string;
  readonly chatId: string;
  readonly token: string;
}

/** Users `2p` and `2p+1` (ids `<prefix>u<n>`) share direct chat `p`. */
export function pairUsers(prefix: string, pairs: number): Array<Omit<K6User, 'token'>> {
  return Array.from({ length: 2 * pairs }, (_, n) => {
    const userId = `${prefix}u${n}`;
    const peerId = `${prefix}u${n ^ 1}`;
    return { userId, peerId, chatId: directChatId(userId, peerId) };
  });
}

/** Connects as `userId`, creates the direct chat with `peerId`, and closes; resolves with a problem or null. */
async function createDirectChat(wsUrl: string, token: string, chatId: string, peerId: string): Promise<string | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${wsUrl}?access_token=${token}`, { perMessageDeflate: false });
    const finish = (problem: string | null): void => {
      clearTimeout(timer);
      ws.removeAllListeners('close');
      ws.close(1000);
      resolve(problem);
    };
    const timer = setTimeout(() => finish(`no answer to createChat ${chatId} within 60 s`), 60_000);
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { type: string; requestId?: string; code?: string };
      if (frame.type === 'hello') {
        ws.send(JSON.stringify({ type: 'createChat', requestId: 'create', chatId, kind: 'direct', members: [peerId] }));
      } else if (frame.requestId === 'create') {
        finish(frame.type === 'ack' ? null : `createChat ${chatId}: ${frame.type} ${frame.code ?? ''}`);
      }
    });
    ws.on('error', (error) => finish(`connect: ${error.message}`));
    ws.on('close', (code) => finish(`closed with ${code} before the chat was created`));
  });
}

/**
 * Creates the chats and writes the users file.
 * @throws BenchError `CM_ERR_BENCH_SETUP_FAILED` when a chat cannot be created
 */
export async function prepareUsers(options: {
  readonly wsUrl: string;
  readonly signer: TokenSigner;
  readonly prefix: string;
  readonly pairs: number;
  readonly file: string;
}): Promise<readonly K6User[]> {
  const token = await createTokenFactory(options.signer);
  const planned = pairUsers(options.prefix, options.pairs);
  const users = await Promise.all(
    planned.map(async (user) => ({ ...user, token: await token(user.userId, K6_DEVICE_ID) })),
  );
  const creators = users.filter((_, n) => n % 2 === 0);
  let next = 0;
  const problems: string[] = [];
  const lane = async (): Promise<void> => {
    while (next < creators.length) {
      const creator = creators[next++]!;
      const problem = await createDirectChat(options.wsUrl, creator.token, creator.chatId, creator.peerId);
      if (problem !== null) problems.push(problem);
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, creators.length) }, lane));
  if (problems.length > 0) {
    throw new BenchError('CM_ERR_BENCH_SETUP_FAILED', `${problems.length} chats not created; first: ${problems[0]}`, {
      context: { phase: 'setup', problems: problems.slice(0, 5) },
    });
  }
  await writeFile(options.file, JSON.stringify(users));
  return users;
}
