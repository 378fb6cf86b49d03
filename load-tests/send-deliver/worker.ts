/**
 * One load generator process of the send → deliver benchmark (forked by bench.ts, driven over IPC; see
 * messages.ts). It holds the WebSockets of devices `d ≡ index (mod workers)` of the plan, speaking the
 * protocol frames directly on `ws` (no SDK): it sends its share of the open-loop schedule, records every
 * `messageReceived` in a {@link DeliveryLedger} with its latency from the scheduled send time, and acks
 * the highest inbox position of each device every `ackIntervalMs` (batched, as a real client would).
 *
 * It exits when the coordinator disconnects or says `close`, and by itself if the coordinator is gone.
 */
import WebSocket from 'ws';
import { LatencyHistogram } from './histogram.js';
import { DeliveryLedger } from './ledger.js';
import type { FromWorker, ToWorker, WorkerConfig, WorkerReport } from './messages.js';
import { createPlan } from './plan.js';
import { OpenLoopScheduler } from './scheduler.js';
import { createTokenFactory } from './tokens.js';

const config = JSON.parse(process.env['CHATMESH_SEND_DELIVER_WORKER'] ?? 'null') as WorkerConfig | null;
if (config === null) throw new Error('CHATMESH_SEND_DELIVER_WORKER is not set: this file is started by bench.ts');
const plan = createPlan(config.plan);
const { index: me, workers: W } = config;
const clock = (): number => performance.timeOrigin + performance.now();

function reply(message: FromWorker): void {
  process.send?.(message);
}

// ---- devices of this worker: global index d = me + k·W, local index k ----
const localCount = Math.max(0, Math.ceil((plan.deviceCount - me) / W));
const sockets: Array<WebSocket | null> = new Array<WebSocket | null>(localCount).fill(null);
const highestInbox = new Float64Array(localCount);
const ackedInbox = new Float64Array(localCount);
const dirty: number[] = [];
const isDirty = new Uint8Array(localCount);
/** Broadcast chats (big groups) have no inbox position: each device acks its highest seq per chat, as the SDK does. */
const chatPositions: Array<Map<string, number> | null> = new Array<Map<string, number> | null>(localCount).fill(null);
const chatCreatedSeen = new Int32Array(localCount);
const chatCreatedNeeded = new Int32Array(localCount);
/** Slot of each (local device, chat) in the ledger; most devices are in one chat. */
const slotOf: Array<Map<number, number>> = [];
const ledger = new DeliveryLedger();
const globalOf = (local: number): number => me + local * W;

for (let local = 0; local < localCount; local++) {
  const d = globalOf(local);
  const { user } = plan.device(d);
  const slots = new Map<number, number>();
  let needed = 0;
  for (const chat of plan.chatsOf(user)) {
    const memberIndex = plan.memberIndex(chat, user);
    if (memberIndex !== 0) needed++;
    if (d === plan.offlineDevice) continue; // measured by the coordinator itself
    const senders = plan.params.scenario === 'group' ? plan.params.members : 2;
    slots.set(chat, ledger.addSlot(plan.messagesInChat(chat), plan.expectedFor(chat, user), senders));
  }
  chatCreatedNeeded[local] = needed;
  slotOf.push(slots);
}

// ---- run state ----
let scheduler: OpenLoopScheduler | null = null;
let startMs = 0;
let rate = 1;
let warmupMessages = 0;
let lateMs = Number.POSITIVE_INFINITY;
let late = 0;
let sent = 0;
let acked = 0;
let rejected = 0;
let unsent = 0;
let acksSent = 0;
let sendDone = false;
let running = false;
const rejectCodes: Record<string, number> = {};
const errorCodes: Record<string, number> = {};
const closes: Record<string, number> = {};
const deliveredPerSecond: number[] = [];
const delivery = new LatencyHistogram();
const deliveryAll = new LatencyHistogram();
const ackLatency = new LatencyHistogram();
const sendLag = new LatencyHistogram();
const createWaiters = new Map<string, (accepted: boolean, code: string | null) => void>();
const body = 'x'.repeat(config.bodyBytes);

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

interface InFrame {
  type: string;
  inboxSeq?: number;
  seq?: number;
  chatId?: string;
  clientMessageId?: string;
  requestId?: string;
  code?: string;
  message?: string;
}

function markDirty(local: number): void {
  if (isDirty[local] === 0) {
    isDirty[local] = 1;
    dirty.push(local);
  }
}

function onFrame(local: number, frame: InFrame, nowMs: number): void {
  if (
    frame.inboxSeq === undefined &&
    typeof frame.seq === 'number' &&
    frame.chatId !== undefined &&
    frame.type !== 'ack'
  ) {
    const positions = (chatPositions[local] ??= new Map());
    if (frame.seq > (positions.get(frame.chatId) ?? 0)) {
      positions.set(frame.chatId, frame.seq);
      markDirty(local);
    }
  }
  if (typeof frame.inboxSeq === 'number') {
    ledger.recordInboxSeq(local, frame.inboxSeq);
    if (frame.inboxSeq > highestInbox[local]!) {
      highestInbox[local] = frame.inboxSeq;
      if (isDirty[local] === 0) {
        isDirty[local] = 1;
        dirty.push(local);
      }
    }
  }
  switch (frame.type) {
    case 'messageReceived': {
      const message = plan.messageOf(frame.clientMessageId ?? '');
      if (message === null) {
        ledger.recordUnexpected();
        return;
      }
      const chat = plan.chatOf(message);
      const sender = plan.senderOf(message);
      const { user } = plan.device(globalOf(local));
      const slot = slotOf[local]!.get(chat);
      if (sender === user) {
        ledger.recordEcho();
        return;
      }
      if (slot === undefined) {
        ledger.recordUnexpected();
        return;
      }
      const outcome = ledger.record(slot, plan.ordinalOf(message), plan.memberIndex(chat, sender), frame.seq ?? -1);
      if (outcome !== 'received' || !running) return;
      const scheduled = startMs + (message * 1000) / rate;
      if (nowMs - scheduled > lateMs) late++;
      deliveryAll.record(nowMs - scheduled);
      if (message >= warmupMessages) delivery.record(nowMs - scheduled);
      const second = Math.max(0, Math.floor((nowMs - startMs) / 1000));
      while (deliveredPerSecond.length <= second) deliveredPerSecond.push(0);
      deliveredPerSecond[second]!++;
      return;
    }
    case 'chatCreated':
      chatCreatedSeen[local]!++;
      return;
    case 'ack': {
      const requestId = frame.requestId ?? '';
      if (requestId.startsWith('c')) {
        createWaiters.get(requestId)?.(true, null);
        return;
      }
      const message = Number(requestId);
      acked++;
      if (scheduler !== null && message >= warmupMessages) ackLatency.record(nowMs - scheduler.scheduledAt(message));
      return;
    }
    case 'reject': {
      const requestId = frame.requestId ?? '';
      const code = frame.code ?? 'unknown';
      if (requestId.startsWith('c')) {
        createWaiters.get(requestId)?.(false, `${code} ${frame.message ?? ''}`);
        return;
      }
      rejected++;
      bump(rejectCodes, code);
      return;
    }
    case 'error':
      bump(errorCodes, frame.code ?? 'unknown');
      return;
    default:
      return;
  }
}

function flushAcks(): void {
  while (dirty.length > 0) {
    const local = dirty.pop()!;
    isDirty[local] = 0;
    const ws = sockets[local];
    if (ws === null || ws === undefined || ws.readyState !== WebSocket.OPEN) continue;
    const positions = chatPositions[local] ?? null;
    if (highestInbox[local]! <= ackedInbox[local]! && positions === null) continue;
    ackedInbox[local] = highestInbox[local]!;
    chatPositions[local] = null;
    const chats =
      positions === null ? '' : `,"chats":${JSON.stringify([...positions].map(([chatId, seq]) => ({ chatId, seq })))}`;
    ws.send(`{"type":"ack","upToInboxSeq":${highestInbox[local]}${chats}}`);
    if (running) acksSent++;
  }
}
const ackTimer = setInterval(flushAcks, config.ackIntervalMs);

// ---- connecting ----
async function connectOne(local: number, token: (userId: string, deviceId: string) => Promise<string>): Promise<void> {
  const d = globalOf(local);
  const { user, deviceId } = plan.device(d);
  const url = `${config!.gatewayWsUrls[d % config!.gatewayWsUrls.length]}?access_token=${await token(plan.userId(user), deviceId)}`;
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      localAddress: config!.localAddress,
      handshakeTimeout: config!.connectTimeoutMs,
    });
    let live = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no syncDone within ${config!.connectTimeoutMs} ms`));
    }, config!.connectTimeoutMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const now = clock();
      const frame = JSON.parse(data.toString('utf8')) as InFrame;
      if (!live && frame.type === 'syncDone') {
        live = true;
        clearTimeout(timer);
        sockets[local] = ws;
        resolve();
      }
      onFrame(local, frame, now);
    });
    ws.on('error', (error) => {
      if (live) return;
      clearTimeout(timer);
      reject(error);
    });
    ws.on('close', (code) => {
      if (sockets[local] === ws) sockets[local] = null;
      if (!live) {
        clearTimeout(timer);
        reject(new Error(`closed with ${code} before syncDone`));
      } else if (!closing) {
        bump(closes, String(code));
      }
    });
  });
}

let closing = false;

async function connectAll(): Promise<void> {
  const started = performance.now();
  const token = await createTokenFactory(config!.signer);
  const todo: number[] = [];
  for (let local = 0; local < localCount; local++) if (globalOf(local) !== plan.offlineDevice) todo.push(local);
  let next = 0;
  let failed = 0;
  let retried = 0;
  let firstError: string | null = null;
  const lane = async (): Promise<void> => {
    while (next < todo.length) {
      const local = todo[next++]!;
      try {
        await connectOne(local, token);
      } catch (error) {
        // One retry, as a client would reconnect (and counted: a refused or dropped upgrade is a finding).
        retried++;
        firstError ??= error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
        try {
          await connectOne(local, token);
        } catch {
          failed++;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(config!.connectConcurrency, Math.max(1, todo.length)) }, lane));
  reply({
    type: 'connected',
    held: todo.length - failed,
    failed,
    retried,
    firstError,
    ms: performance.now() - started,
  });
}

// ---- chats ----
async function createChats(inFlight: number, timeoutMs: number): Promise<void> {
  const started = performance.now();
  const mine: number[] = [];
  for (let chat = 0; chat < plan.params.chats; chat++) {
    const creator = plan.deviceOf(plan.members(chat)[0]!);
    if (creator % W === me) mine.push(chat);
  }
  let next = 0;
  let accepted = 0;
  let refused = 0;
  let firstReject: string | null = null;
  const lane = async (): Promise<void> => {
    while (next < mine.length) {
      const chat = mine[next++]!;
      const members = plan.members(chat);
      const creator = plan.deviceOf(members[0]!);
      const ws = sockets[(creator - me) / W];
      const requestId = `c${chat}`;
      const outcome = await new Promise<string | null>((resolve) => {
        if (ws === null || ws === undefined) {
          resolve('the creator is not connected');
          return;
        }
        const timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
        createWaiters.set(requestId, (ok, code) => {
          clearTimeout(timer);
          resolve(ok ? null : code);
        });
        ws.send(
          JSON.stringify({
            type: 'createChat',
            requestId,
            chatId: plan.chatId(chat),
            kind: plan.chatKind(chat),
            members: members.slice(1).map((user) => plan.userId(user)),
            ...(plan.chatKind(chat) === 'group' ? { name: `bench group ${chat}` } : {}),
          }),
        );
      });
      createWaiters.delete(requestId);
      if (outcome === null) accepted++;
      else {
        refused++;
        firstReject ??= outcome;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, Math.max(1, mine.length)) }, lane));
  reply({ type: 'chatsCreated', accepted, rejected: refused, firstReject, ms: performance.now() - started });
}

async function awaitChats(timeoutMs: number): Promise<void> {
  const started = performance.now();
  const missing = (): number => {
    let count = 0;
    for (let local = 0; local < localCount; local++) {
      // The offline device, and devices that could not connect, will not see their chats.
      if (globalOf(local) === plan.offlineDevice || sockets[local] === null) continue;
      count += Math.max(0, chatCreatedNeeded[local]! - chatCreatedSeen[local]!);
    }
    return count;
  };
  while (missing() > 0 && performance.now() - started < timeoutMs) await new Promise((r) => setTimeout(r, 100));
  const left = missing();
  reply({ type: 'chatsSeen', complete: left === 0, missing: left, ms: performance.now() - started });
}

// ---- the open-loop run ----
function startRun(start: number, ratePerSecond: number, warmup: number, lateAfterMs: number): void {
  lateMs = lateAfterMs;
  startMs = start;
  rate = ratePerSecond;
  warmupMessages = warmup;
  const indices: number[] = [];
  for (let message = 0; message < plan.params.messages; message++) {
    if (plan.deviceOf(plan.senderOf(message)) % W === me) indices.push(message);
  }
  scheduler = new OpenLoopScheduler(startMs, rate, Int32Array.from(indices));
  running = true;
  const tick = (): void => {
    const s = scheduler!;
    const now = clock();
    const { from, to } = s.takeDue(now);
    for (let position = from; position < to; position++) {
      const message = indices[position]!;
      const chat = plan.chatOf(message);
      const device = plan.deviceOf(plan.senderOf(message));
      const ws = sockets[(device - me) / W];
      sendLag.record(now - s.scheduledAt(message));
      if (ws === null || ws === undefined || ws.readyState !== WebSocket.OPEN) {
        unsent++;
        continue;
      }
      ws.send(
        `{"type":"send","requestId":"${message}","chatId":"${plan.chatId(chat)}","clientMessageId":"${plan.clientMessageId(message)}","body":"${body}"}`,
      );
      sent++;
    }
    const next = s.nextDueMs();
    if (next === null) {
      sendDone = true;
      return;
    }
    setTimeout(tick, Math.max(0, next - clock()));
  };
  const first = scheduler.nextDueMs();
  if (first === null) sendDone = true;
  else setTimeout(tick, Math.max(0, first - clock()));
}

function report(): WorkerReport {
  return {
    ledger: ledger.summary(),
    delivery: delivery.toData(),
    deliveryAll: deliveryAll.toData(),
    ack: ackLatency.toData(),
    sendLag: sendLag.toData(),
    deliveredPerSecond,
    late,
    sent,
    acked,
    rejected,
    rejectCodes,
    errorCodes,
    closes,
    unsent,
    acksSent,
  };
}

function shutdown(): void {
  closing = true;
  clearInterval(ackTimer);
  for (const ws of sockets) ws?.terminate();
  process.disconnect?.();
  setTimeout(() => process.exit(0), 100).unref();
}

process.on('message', (command: ToWorker) => {
  const fail = (error: unknown): void =>
    reply({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  switch (command.type) {
    case 'clock':
      reply({ type: 'clock', nowMs: clock() });
      return;
    case 'connect':
      connectAll().catch(fail);
      return;
    case 'createChats':
      createChats(command.inFlight, command.timeoutMs).catch(fail);
      return;
    case 'awaitChats':
      awaitChats(command.timeoutMs).catch(fail);
      return;
    case 'run':
      startRun(command.startMs, command.rate, command.warmupMessages, command.lateMs);
      return;
    case 'progress':
      reply({ type: 'progress', sent, acked, received: ledger.summary().received, sendDone });
      return;
    case 'report':
      flushAcks();
      reply({ type: 'report', report: report() });
      return;
    case 'close':
      shutdown();
      return;
  }
});
// The coordinator gone (crash, Ctrl-C): nothing else will stop this process.
process.on('disconnect', () => {
  closing = true;
  process.exit(0);
});
reply({ type: 'ready' });
