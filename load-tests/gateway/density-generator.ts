/**
 * One load generator process of the density benchmark (forked by `density.ts`, driven over IPC). It opens
 * idle, authenticated WebSockets to the gateway from its own loopback source address (`localAddress`, so
 * each generator has its own ephemeral port range), keeps them open, and closes them when told to.
 *
 * With memberships (`membership` in the config) its users are the blocks of `membership-plan.ts` it was
 * given, and before any measured connection it runs the **setup**: block by block it connects the block's
 * users, creates their chats through the protocol (`createChat`), waits until every member's device has
 * seen the `chatCreated` frames of the chats others created, acks them (so later connections have nothing
 * to replay) and closes the block's sockets again.
 *
 * Messages in: `{type: 'setup', blocksInFlight, timeoutMs}`, `{type: 'open', from, to}` (opens its users
 * `from..to-1`, one device each), `{type: 'close'}`.
 * Messages out: `{type: 'setupDone', ...}`, `{type: 'opened', held, failed, ms, firstError, replayedFrames}`,
 * `{type: 'closed'}`.
 */
import WebSocket from 'ws';
import { createTokenFactory, type TokenSigner } from '../send-deliver/tokens.js';
import { createMembershipPlan, type MembershipPlan } from './membership-plan.js';

export interface GeneratorConfig {
  readonly wsUrl: string;
  /** Where the setup's sockets connect (another gateway on the stack). */
  readonly setupWsUrl: string;
  readonly localAddress: string;
  readonly signer: TokenSigner;
  readonly concurrency: number;
  readonly connectTimeoutMs: number;
  /** Without memberships: user ids are `<userPrefix><n>`. */
  readonly userPrefix: string;
  /** With memberships: the plan's numbers and the blocks this generator owns, in the order it opens them. */
  readonly membership: {
    readonly prefix: string;
    readonly groupSize: number;
    readonly directPerUser: number;
    readonly blocks: readonly number[];
  } | null;
}

type Command =
  | { type: 'setup'; blocksInFlight: number; timeoutMs: number }
  | { type: 'open'; from: number; to: number }
  | { type: 'close' };

interface InFrame {
  type: string;
  inboxSeq?: number;
  seq?: number;
  chatId?: string;
  requestId?: string;
  code?: string;
  message?: string;
}

const config = JSON.parse(process.env['CHATMESH_BENCH_GENERATOR'] ?? '{}') as GeneratorConfig;
const plan: MembershipPlan | null = config.membership === null ? null : createMembershipPlan({ ...config.membership });
const sockets: WebSocket[] = [];
let tokenOf: ((userId: string, deviceId: string) => Promise<string>) | null = null;
let replayedFrames = 0;

function send(message: unknown): void {
  process.send?.(message);
}

/** The user id of this generator's `local`-th user. */
function userIdOf(local: number): string {
  if (plan === null || config.membership === null) return `${config.userPrefix}${local}`;
  const size = config.membership.groupSize;
  const block = config.membership.blocks[Math.floor(local / size)];
  if (block === undefined) throw new RangeError(`generator has no user ${local}`);
  return plan.userId(block * size + (local % size));
}

/** A connected device: its socket and what it has seen, for acking. */
interface Device {
  readonly ws: WebSocket;
  highestInbox: number;
  /** Highest seq per broadcast chat (frames without `inboxSeq`). */
  readonly chatSeqs: Map<string, number>;
  readonly createdSeen: Set<string>;
  /** Answers to this device's `createChat` (by requestId) and `ping` (by nonce). */
  readonly waiters: Map<string, (frame: InFrame) => void>;
}

/**
 * Opens one authenticated socket and resolves once the gateway has sent `hello` (no memberships: auth and
 * registration done) or `syncDone` (memberships: inbox replayed and broadcast chats joined).
 */
async function connect(userId: string, wsUrl: string = config.wsUrl): Promise<Device> {
  tokenOf ??= await createTokenFactory(config.signer);
  const token = await tokenOf(userId, 'd');
  const waitFor = plan === null ? 'hello' : 'syncDone';
  return new Promise<Device>((resolveOpen, reject) => {
    const ws = new WebSocket(`${wsUrl}?access_token=${token}`, {
      localAddress: config.localAddress,
      perMessageDeflate: false,
      handshakeTimeout: config.connectTimeoutMs,
    });
    const device: Device = { ws, highestInbox: 0, chatSeqs: new Map(), createdSeen: new Set(), waiters: new Map() };
    let open = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no ${waitFor} within ${config.connectTimeoutMs} ms`));
    }, config.connectTimeoutMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const frame = JSON.parse(data.toString('utf8')) as InFrame;
      if (typeof frame.inboxSeq === 'number') device.highestInbox = Math.max(device.highestInbox, frame.inboxSeq);
      else if (typeof frame.seq === 'number' && frame.chatId !== undefined && frame.type !== 'ack') {
        device.chatSeqs.set(frame.chatId, Math.max(device.chatSeqs.get(frame.chatId) ?? 0, frame.seq));
      }
      if (frame.type === 'chatCreated' && frame.chatId !== undefined) device.createdSeen.add(frame.chatId);
      if (!open && frame.type !== 'hello' && frame.type !== 'syncDone') replayedFrames++;
      const key = frame.type === 'pong' ? 'pong' : frame.requestId;
      if (key !== undefined) {
        const waiter = device.waiters.get(key);
        device.waiters.delete(key);
        waiter?.(frame);
      }
      if (!open && frame.type === waitFor) {
        open = true;
        clearTimeout(timer);
        resolveOpen(device);
      }
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      if (!open) reject(error);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (!open) reject(new Error(`closed with ${code} before ${waitFor}`));
    });
  });
}

/** Sends a frame and waits for the answer keyed `key` (a requestId, or `pong`); null after `timeoutMs`. */
function ask(device: Device, key: string, frame: unknown, timeoutMs: number): Promise<InFrame | null> {
  return new Promise((resolveAnswer) => {
    const timer = setTimeout(() => {
      device.waiters.delete(key);
      resolveAnswer(null);
    }, timeoutMs);
    device.waiters.set(key, (answer) => {
      clearTimeout(timer);
      resolveAnswer(answer);
    });
    device.ws.send(JSON.stringify(frame));
  });
}

/** Acks what the device has seen, then pings: frames of a socket are handled in order, so the pong means the ack was applied. */
async function ackAll(device: Device, timeoutMs: number): Promise<boolean> {
  const chats = [...device.chatSeqs].map(([chatId, seq]) => ({ chatId, seq }));
  device.ws.send(
    JSON.stringify({ type: 'ack', upToInboxSeq: device.highestInbox, ...(chats.length > 0 ? { chats } : {}) }),
  );
  return (await ask(device, 'pong', { type: 'ping', nonce: 'acked' }, timeoutMs)) !== null;
}

async function closeGracefully(ws: WebSocket, timeoutMs: number): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => {
      ws.terminate();
      done();
    }, timeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
      done();
    });
    ws.close(1000);
  });
}

interface SetupTally {
  connectFailed: number;
  /** Setup connects that succeeded on a second or third try. */
  connectRetried: number;
  created: number;
  refused: number;
  firstProblem: string | null;
  /** `chatCreated` frames still missing when a block's wait ended. */
  missingCreated: number;
  ackTimeouts: number;
}

/** Runs `task` over `items` with at most `lanes` at once. */
async function inLanes<T>(items: readonly T[], lanes: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
}

async function setupBlock(block: number, tally: SetupTally, timeoutMs: number): Promise<void> {
  const membershipPlan = plan!;
  const size = config.membership!.groupSize;
  const users = Array.from({ length: size }, (_, j) => block * size + j);
  const devices = new Map<number, Device>();
  /** Chats the gateway acked: only their `chatCreated` frames are waited for. */
  const created = new Set<string>();
  const problem = (text: string): void => {
    tally.firstProblem ??= text;
  };
  await inLanes(users, 16, async (user) => {
    // Up to three tries, as a client would reconnect (a rare 1006 before syncDone is a known gateway issue).
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        devices.set(user, await connect(membershipPlan.userId(user), config.setupWsUrl));
        if (attempt > 1) tally.connectRetried++;
        return;
      } catch (error) {
        problem(`setup connect of ${membershipPlan.userId(user)}: ${error instanceof Error ? error.message : error}`);
        await new Promise((done) => setTimeout(done, 500));
      }
    }
    tally.connectFailed++;
  });
  // Creates go out one user at a time per lane: each user makes at most a few, well inside the rate limits.
  await inLanes(users, 16, async (user) => {
    const device = devices.get(user);
    if (device === undefined) return;
    for (const [n, chat] of membershipPlan.chatsCreatedBy(user).entries()) {
      const requestId = `c${user}.${n}`;
      const answer = await ask(
        device,
        requestId,
        {
          type: 'createChat',
          requestId,
          chatId: chat.chatId,
          kind: chat.kind,
          members: chat.members,
          ...(chat.kind === 'group' ? { name: `density ${chat.chatId}` } : {}),
        },
        timeoutMs,
      );
      if (answer?.type === 'ack') {
        tally.created++;
        created.add(chat.chatId);
      } else {
        tally.refused++;
        problem(
          answer === null ? `createChat ${chat.chatId}: no answer` : `createChat: ${answer.code} ${answer.message}`,
        );
      }
    }
  });
  const missing = (): number => {
    let count = 0;
    for (const [user, device] of devices) {
      for (const chatId of membershipPlan.chatsCreatedByOthers(user)) {
        if (created.has(chatId) && !device.createdSeen.has(chatId)) count++;
      }
    }
    return count;
  };
  const deadline = Date.now() + timeoutMs;
  while (missing() > 0 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
  tally.missingCreated += missing();
  await inLanes([...devices.values()], 32, async (device) => {
    if (!(await ackAll(device, timeoutMs))) tally.ackTimeouts++;
  });
  await inLanes([...devices.values()], 64, (device) => closeGracefully(device.ws, 5_000));
}

async function setup(blocksInFlight: number, timeoutMs: number): Promise<void> {
  const started = performance.now();
  const tally: SetupTally = {
    connectFailed: 0,
    connectRetried: 0,
    created: 0,
    refused: 0,
    firstProblem: null,
    missingCreated: 0,
    ackTimeouts: 0,
  };
  await inLanes(config.membership?.blocks ?? [], blocksInFlight, (block) => setupBlock(block, tally, timeoutMs));
  send({ type: 'setupDone', ...tally, ms: performance.now() - started });
}

async function openRange(from: number, to: number): Promise<void> {
  const started = performance.now();
  let failed = 0;
  let firstError: string | null = null;
  const locals = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  await inLanes(locals, config.concurrency, async (local) => {
    try {
      const device = await connect(userIdOf(local));
      // Anything replayed (a frame that came after the setup's ack) is acked, as a client would, so the socket is idle.
      if (plan !== null && (device.highestInbox > 0 || device.chatSeqs.size > 0)) await ackAll(device, 30_000);
      sockets.push(device.ws);
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  });
  send({ type: 'opened', held: sockets.length, failed, ms: performance.now() - started, firstError, replayedFrames });
}

process.on('message', (command: Command) => {
  const fail = (error: unknown): void =>
    send({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  if (command.type === 'setup') setup(command.blocksInFlight, command.timeoutMs).catch(fail);
  else if (command.type === 'open') openRange(command.from, command.to).catch(fail);
  else {
    for (const ws of sockets) ws.terminate();
    sockets.length = 0;
    send({ type: 'closed' });
    process.disconnect?.();
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
