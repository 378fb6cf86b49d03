/**
 * Open-loop send → deliver through real WebSockets (the benchmark every later step is measured with).
 *
 * Devices connect to the gateway(s) as real clients (raw `ws` with the protocol frames, spread over a few
 * load generator processes, worker.ts); messages are offered at a fixed rate by the clock (open loop, no
 * waiting for acks) and each delivery is timed at the recipient's socket from its **scheduled** send time,
 * so a stall anywhere shows up in the latencies (no coordinated omission). It reports p50 / p99 / p99.9 /
 * max, deliveries per second, lost / duplicated / out-of-order deliveries (each must be 0), and the CPU
 * share of every process (services, servers, the generators and this coordinator).
 *
 * `npm run bench:send-deliver -w @chatmesh/load-tests -- --mode embedded --scenario direct --rate 500 --seconds 60`
 *
 * Scenarios (plan.ts): `direct` (1:1 chats), `group` (a 1,024-member group, every member online),
 * `catchup` (one device offline across N messages in 100 chats, timed from connect to fully resumed).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { machineRows, renderTwoColumns, writeResult } from '../gateway/gateway-report.js';
import { REPO_ROOT } from '../gateway/embedded-process.js';
import { BenchError, readMachineInfo } from '../src/index.js';
import { measureCassandra, measureKafkaHop, type CassandraBaseline, type KafkaHopBaseline } from './baseline.js';
import { startCpuWindow, type CpuShare } from './cpu.js';
import { hopTimes, readHopSnapshot } from './hop-times.js';
import { workPerMessage, workRows } from './work-counts.js';
import { LatencyHistogram, type LatencyPercentiles } from './histogram.js';
import { DeliveryLedger, mergeLedgerSummaries, type LedgerSummary } from './ledger.js';
import type { FromWorker, ToWorker, WorkerConfig, WorkerReport } from './messages.js';
import { limitsFor, parseSendDeliverOptions, type SendDeliverOptions } from './options.js';
import { createPlan, type Plan } from './plan.js';
import { startEmbedded, startStack, type SendDeliverTarget } from './targets.js';
import { createTokenFactory } from './tokens.js';
import { addPerSecond, judge, meanRate } from './verdict.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const clock = (): number => performance.timeOrigin + performance.now();

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

// ---- load generator processes ----
interface Worker {
  readonly index: number;
  readonly child: ChildProcess;
  /** worker clock − coordinator clock, ms. */
  offsetMs: number;
  request<T extends FromWorker['type']>(
    message: ToWorker,
    reply: T,
    timeoutMs?: number,
  ): Promise<Extract<FromWorker, { type: T }>>;
}

async function startWorker(config: WorkerConfig): Promise<Worker> {
  const entry = join(HERE, 'worker.ts');
  const child = spawn(
    'bash',
    ['-c', `ulimit -n 20000 && exec ${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(entry)}`],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, CHATMESH_SEND_DELIVER_WORKER: JSON.stringify(config) },
    },
  );
  const waiters = new Map<string, Array<(message: FromWorker) => void>>();
  let fatal: string | null = null;
  let exited: number | string | null = null;
  const failAll = (): void => {
    for (const list of waiters.values())
      for (const waiter of list) waiter({ type: 'fatal', message: fatal ?? `worker exited (${exited})` });
    waiters.clear();
  };
  child.on('message', (message: FromWorker) => {
    if (message.type === 'fatal') {
      fatal = message.message;
      failAll();
      return;
    }
    const list = waiters.get(message.type);
    const waiter = list?.shift();
    waiter?.(message);
  });
  child.once('exit', (code, signal) => {
    exited = code ?? signal ?? 'unknown';
    failAll();
  });
  const request = <T extends FromWorker['type']>(
    message: ToWorker | null,
    reply: T,
    timeoutMs = 600_000,
  ): Promise<Extract<FromWorker, { type: T }>> =>
    new Promise((resolve, reject) => {
      if (fatal !== null || exited !== null) {
        reject(
          new BenchError(
            'CM_ERR_BENCH_SETUP_FAILED',
            `load generator ${config.index} failed: ${fatal ?? `exited (${exited})`}`,
          ),
        );
        return;
      }
      const timer = setTimeout(
        () =>
          reject(
            new BenchError(
              'CM_ERR_BENCH_TIMEOUT',
              `load generator ${config.index}: no ${reply} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      const list = waiters.get(reply) ?? [];
      list.push((answer) => {
        clearTimeout(timer);
        if (answer.type === 'fatal')
          reject(
            new BenchError('CM_ERR_BENCH_SETUP_FAILED', `load generator ${config.index} failed: ${answer.message}`),
          );
        else resolve(answer as Extract<FromWorker, { type: T }>);
      });
      waiters.set(reply, list);
      if (message !== null) child.send(message);
    });
  await request(null, 'ready', 60_000);
  const worker: Worker = { index: config.index, child, offsetMs: 0, request };
  // Clock offset: the sample with the shortest round trip (the workers compute latencies in their own clock).
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 7; i++) {
    const sentAt = clock();
    const answer = await request({ type: 'clock' }, 'clock', 10_000);
    const receivedAt = clock();
    if (receivedAt - sentAt < best) {
      best = receivedAt - sentAt;
      worker.offsetMs = answer.nowMs - (sentAt + receivedAt) / 2;
    }
  }
  return worker;
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise<void>((done) => worker.child.once('exit', () => done()));
  try {
    worker.child.send({ type: 'close' } satisfies ToWorker);
  } catch {
    // IPC already closed
  }
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---- catchup: the offline device, in this process ----
interface ResumeResult {
  readonly cursorAtConnect: number;
  readonly connectToHelloMs: number;
  readonly connectToSyncDoneMs: number;
  readonly connectToAllMessagesMs: number;
  readonly messagesPerSecond: number;
  readonly inboxFramesReplayed: number;
  readonly ledger: LedgerSummary;
}

/** Opens the offline device's socket once before the sends (registers it, acks the chat creations), then closes it. */
async function primeOfflineDevice(url: string, token: string, timeoutMs: number): Promise<number> {
  const ws = new WebSocket(url + `?access_token=${token}`, { perMessageDeflate: false });
  let highest = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new BenchError('CM_ERR_BENCH_TIMEOUT', 'the offline device did not sync in time')),
      timeoutMs,
    );
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { type: string; inboxSeq?: number };
      if (typeof frame.inboxSeq === 'number') highest = Math.max(highest, frame.inboxSeq);
      if (frame.type === 'syncDone') {
        // ack, then ping: frames of a socket are handled in order, so the pong means the cursor moved.
        ws.send(JSON.stringify({ type: 'ack', upToInboxSeq: highest }));
        ws.send(JSON.stringify({ type: 'ping', nonce: 'primed' }));
      }
      if (frame.type === 'pong') {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on('error', reject);
  });
  await new Promise<void>((done) => {
    ws.once('close', () => done());
    ws.close(1000);
  });
  return highest;
}

async function resumeOfflineDevice(
  plan: Plan,
  url: string,
  token: string,
  timeoutMs: number,
  ackIntervalMs: number,
): Promise<ResumeResult> {
  const ledger = new DeliveryLedger();
  const slots = new Map<number, number>();
  let expected = 0;
  for (const chat of plan.chatsOf(0)) {
    slots.set(chat, ledger.addSlot(plan.messagesInChat(chat), plan.expectedFor(chat, 0), 2));
    expected += plan.expectedFor(chat, 0);
  }
  let cursor = Number.NaN;
  let helloAt = Number.NaN;
  let syncDoneAt = Number.NaN;
  let allAt = Number.NaN;
  let received = 0;
  let frames = 0;
  let highest = 0;
  let acked = 0;
  const started = clock();
  const ws = new WebSocket(url + `?access_token=${token}`, { perMessageDeflate: false });
  const ackTimer = setInterval(() => {
    if (highest > acked && ws.readyState === WebSocket.OPEN) {
      acked = highest;
      ws.send(`{"type":"ack","upToInboxSeq":${highest}}`);
    }
  }, ackIntervalMs);
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const finishIfDone = (): void => {
        if (received >= expected && !Number.isNaN(syncDoneAt)) {
          clearTimeout(timer);
          resolve();
        }
      };
      ws.on('message', (data: Buffer) => {
        const now = clock();
        const frame = JSON.parse(data.toString('utf8')) as {
          type: string;
          inboxSeq?: number;
          seq?: number;
          clientMessageId?: string;
          cursor?: number;
        };
        if (typeof frame.inboxSeq === 'number') {
          frames++;
          ledger.recordInboxSeq(0, frame.inboxSeq);
          highest = Math.max(highest, frame.inboxSeq);
        }
        if (frame.type === 'hello') {
          helloAt = now;
          cursor = frame.cursor ?? Number.NaN;
        } else if (frame.type === 'syncDone') {
          syncDoneAt = now;
          finishIfDone();
        } else if (frame.type === 'messageReceived') {
          const message = plan.messageOf(frame.clientMessageId ?? '');
          const slot = message === null ? undefined : slots.get(plan.chatOf(message));
          if (message === null || slot === undefined) {
            ledger.recordUnexpected();
            return;
          }
          if (ledger.record(slot, plan.ordinalOf(message), 0, frame.seq ?? -1) === 'received') {
            received++;
            if (received === expected) allAt = now;
          }
          finishIfDone();
        }
      });
      ws.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.on('error', () => {});
    });
  } finally {
    clearInterval(ackTimer);
    ws.terminate();
  }
  const round = (value: number): number => Math.round(value * 10) / 10;
  return {
    cursorAtConnect: cursor,
    connectToHelloMs: round(helloAt - started),
    connectToSyncDoneMs: round(syncDoneAt - started),
    connectToAllMessagesMs: round(allAt - started),
    messagesPerSecond: Math.round((received / (Math.max(allAt, syncDoneAt) - started)) * 1000),
    inboxFramesReplayed: frames,
    ledger: ledger.summary(),
  };
}

/**
 * Which code ran: the commit of the checkout the services start from, and whether its libs, services
 * or deploy folders had uncommitted changes (other work in the same tree). A copy without .git may
 * name its commit in a `.source-commit` file at its root.
 */
function sourceOf(root: string): { commit: string; uncommittedFiles: number | null } {
  const git = (...args: string[]): string | null => {
    const result = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : null;
  };
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === null) {
    const file = join(root, '.source-commit');
    return { commit: existsSync(file) ? readFileSync(file, 'utf8').trim() : 'unknown', uncommittedFiles: null };
  }
  const status = git('status', '--porcelain', '--', 'libs', 'services', 'deploy');
  return { commit, uncommittedFiles: status === null ? null : status.split('\n').filter(Boolean).length };
}

// ---- the run ----
interface Baseline {
  readonly cassandra: CassandraBaseline | { readonly error: string };
  readonly kafka: ReadonlyArray<KafkaHopBaseline | { readonly partitions: number; readonly error: string }>;
}

async function runBaseline(runId: string): Promise<Baseline | { skipped: string }> {
  const brokers = process.env['KAFKA_BROKERS'] ?? process.env['CHATMESH_TEST_KAFKA'];
  const contactPoints = process.env['CASSANDRA_CONTACT_POINTS'] ?? process.env['CHATMESH_TEST_CASSANDRA'];
  if (!brokers || !contactPoints)
    return { skipped: 'KAFKA_BROKERS / CASSANDRA_CONTACT_POINTS not set (eval "$(npm run -s infra -- env --export)")' };
  const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
  process.stdout.write('baseline: Cassandra prepared inserts (128 in flight, 5 s plain + 5 s IF NOT EXISTS)...\n');
  const cassandra = await measureCassandra({
    contactPoints: contactPoints.split(','),
    localDataCenter: process.env['CASSANDRA_LOCAL_DC'] ?? 'datacenter1',
    runId,
  }).catch((error: unknown) => ({ error: message(error) }));
  const kafka: Array<KafkaHopBaseline | { partitions: number; error: string }> = [];
  for (const partitions of [1, 12]) {
    process.stdout.write(
      `baseline: kafkajs produce → consume hop, ${partitions} partition(s), 2,000 records/s for 10 s...\n`,
    );
    kafka.push(
      await measureKafkaHop({ brokers: brokers.split(','), runId, partitions }).catch((error: unknown) => ({
        partitions,
        error: message(error),
      })),
    );
  }
  return { cassandra, kafka };
}

function fmt(p: LatencyPercentiles): string {
  return `p50 ${p.p50Ms} / p99 ${p.p99Ms} / p99.9 ${p.p999Ms} / max ${p.maxMs} ms (${p.count} samples)`;
}

async function main(): Promise<void> {
  const options: SendDeliverOptions = parseSendDeliverOptions(process.argv.slice(2), join(HERE, '../results'));
  const startedAt = new Date().toISOString();
  const machine = readMachineInfo();
  const source = sourceOf(REPO_ROOT);
  const runId = randomBytes(3).toString('hex');
  const logDir = `/tmp/chatmesh-bench/send-deliver-${startedAt.replace(/[:.]/g, '-')}`;
  const plan = createPlan({
    scenario: options.scenario,
    runId,
    chats: options.chats,
    members: options.members,
    messages: options.messages,
  });
  const sendsPerUserChat = plan.sendRatePerUserChat(options.rate);
  const receivesPerDevice =
    options.scenario === 'direct'
      ? options.rate / (2 * options.chats)
      : options.scenario === 'group'
        ? (options.rate / options.chats) * ((options.members - 1) / options.members)
        : options.rate;
  const limits = limitsFor({
    sendsPerUserChat,
    sendsPerDevice: sendsPerUserChat,
    receivesPerDevice,
    ackIntervalMs: options.ackIntervalMs,
  });
  const notes: string[] = options.note ? [options.note] : [];
  process.stdout.write(
    `send → deliver, ${options.mode}, ${options.scenario}: ${plan.deviceCount} devices in ${options.chats} chat(s), ` +
      `${options.messages} messages at ${options.rate} msg/s (run ${runId}, logs in ${logDir})\n`,
  );
  for (const reason of limits.reasons) process.stdout.write(`limits: ${reason}\n`);
  if (limits.reasons.length === 0) process.stdout.write('limits: the services run with their default rate limits\n');

  const baseline = options.baseline ? await runBaseline(runId) : null;

  process.stdout.write(`starting the ${options.mode} services...\n`);
  const target: SendDeliverTarget =
    options.mode === 'stack'
      ? await startStack({
          runId,
          logDir,
          readyTimeoutMs: options.readyTimeoutS * 1000,
          gateways: options.gateways,
          env: limits.env,
        })
      : await startEmbedded({
          logDir,
          readyTimeoutMs: options.readyTimeoutS * 1000,
          env: limits.env,
          cpuProfileDir: options.cpuProfileDir,
        });
  const workers: Worker[] = [];
  let stopped: Promise<void> | undefined;
  const stopEverything = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.allSettled(workers.map(stopWorker));
      await target.stop();
    })());
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping the load generators and the services...\n');
    void stopEverything().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const workerCount = Math.min(options.workers, plan.deviceCount);
    process.stdout.write(`starting ${workerCount} load generator processes...\n`);
    workers.push(
      ...(await Promise.all(
        Array.from({ length: workerCount }, (_, index) =>
          startWorker({
            index,
            workers: workerCount,
            plan: plan.params,
            gatewayWsUrls: target.gatewayWsUrls,
            signer: target.signer,
            localAddress: `127.0.0.${index + 2}`,
            connectConcurrency: options.connectConcurrency,
            connectTimeoutMs: 120_000,
            ackIntervalMs: options.ackIntervalMs,
            bodyBytes: options.bodyBytes,
          }),
        ),
      )),
    );
    const maxOffset = Math.max(...workers.map((worker) => Math.abs(worker.offsetMs)));

    // Connect every device (hello, then syncDone: live).
    process.stdout.write(`connecting ${plan.deviceCount - (plan.offlineDevice >= 0 ? 1 : 0)} devices...\n`);
    const connectStarted = performance.now();
    const connected = await Promise.all(workers.map((worker) => worker.request({ type: 'connect' }, 'connected')));
    const connectMs = performance.now() - connectStarted;
    const failedConnections = connected.reduce((sum, c) => sum + c.failed, 0);
    const held = connected.reduce((sum, c) => sum + c.held, 0);
    const connectRetries = connected.reduce((sum, c) => sum + c.retried, 0);
    if (connectRetries > 0) {
      notes.push(
        `${connectRetries} connects failed once and were retried (first error: ${connected.find((c) => c.firstError)?.firstError})`,
      );
    }
    if (failedConnections > 0) {
      notes.push(
        `${failedConnections} devices could not connect (first: ${connected.find((c) => c.firstError)?.firstError})`,
      );
    }
    process.stdout.write(
      `  ${held} connected in ${(connectMs / 1000).toFixed(1)} s (${Math.round(held / (connectMs / 1000))}/s), ${failedConnections} failed, ${connectRetries} retried\n`,
    );

    // Create the chats, then wait until every member has its chatCreated (fan-out reached everyone).
    process.stdout.write(`creating ${options.chats} chat(s)...\n`);
    const setupStarted = performance.now();
    const created = await Promise.all(
      workers.map((worker) =>
        worker.request({ type: 'createChats', inFlight: 16, timeoutMs: 120_000 }, 'chatsCreated'),
      ),
    );
    const chatsRejected = created.reduce((sum, c) => sum + c.rejected, 0);
    if (chatsRejected > 0) {
      throw new BenchError(
        'CM_ERR_BENCH_SETUP_FAILED',
        `${chatsRejected} chats were not created (first: ${created.find((c) => c.firstReject)?.firstReject})`,
      );
    }
    const seen = await Promise.all(
      workers.map((worker) => worker.request({ type: 'awaitChats', timeoutMs: 300_000 }, 'chatsSeen')),
    );
    const missingChats = seen.reduce((sum, s) => sum + s.missing, 0);
    if (missingChats > 0) notes.push(`${missingChats} chatCreated frames never reached their members within 300 s`);
    const setupMs = performance.now() - setupStarted;
    process.stdout.write(`  chats created and seen by their members in ${(setupMs / 1000).toFixed(1)} s\n`);

    const token = await createTokenFactory(target.signer);
    // The offline device's gateway, as for every device (d mod gateways); unused outside catchup.
    const offlineUrl = target.gatewayWsUrls[Math.max(0, plan.offlineDevice) % target.gatewayWsUrls.length]!;
    if (plan.offlineDevice >= 0) {
      const { user, deviceId } = plan.device(plan.offlineDevice);
      await primeOfflineDevice(offlineUrl, await token(plan.userId(user), deviceId), 120_000);
      process.stdout.write('  the offline device synced once and went offline\n');
    }

    // The open-loop run.
    const startMs = clock() + 1000;
    const warmupMessages = options.warmupS * options.rate;
    const cpuProcesses = [
      ...target.serverProcesses(),
      ...workers.map((worker) => ({ name: `load generator ${worker.index}`, pid: worker.child.pid ?? 0 })),
      { name: 'coordinator (this process)', pid: process.pid },
    ];
    const cpu = startCpuWindow(cpuProcesses);
    const workBefore = await target.workCounts?.();
    const metricsSources = target.metricsSources();
    const hopsBefore = await readHopSnapshot(metricsSources.opsUrls);
    const loadAverageAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
    process.stdout.write(
      `offering ${options.rate} msg/s for ${Math.round(options.seconds * 10) / 10} s (${options.messages} messages, ` +
        `${options.messages * plan.recipientsPerMessage} deliveries expected${plan.offlineDevice >= 0 ? ' to the online device' : ''})...\n`,
    );
    await Promise.all(
      workers.map((worker) =>
        worker.child.send({
          type: 'run',
          startMs: startMs + worker.offsetMs,
          rate: options.rate,
          warmupMessages,
          lateMs: options.lateMs,
        } satisfies ToWorker),
      ),
    );
    const expectedDeliveries = options.messages * plan.recipientsPerMessage;
    let lastPrint = 0;
    let sendDone = false;
    let drainDeadline = Number.POSITIVE_INFINITY;
    let received = 0;
    let sendEndedAt = Number.NaN;
    // Bounded: the schedule, then at most the drain timeout.
    for (;;) {
      await sleep(500);
      const progress = await Promise.all(
        workers.map((worker) => worker.request({ type: 'progress' }, 'progress', 30_000)),
      );
      received = progress.reduce((sum, p) => sum + p.received, 0);
      const sent = progress.reduce((sum, p) => sum + p.sent, 0);
      const acked = progress.reduce((sum, p) => sum + p.acked, 0);
      const elapsed = (clock() - startMs) / 1000;
      if (!sendDone && progress.every((p) => p.sendDone)) {
        sendDone = true;
        sendEndedAt = clock();
        drainDeadline = clock() + options.drainTimeoutS * 1000;
      }
      if (elapsed - lastPrint >= 5 || (sendDone && received >= expectedDeliveries)) {
        lastPrint = elapsed;
        process.stdout.write(
          `  ${elapsed.toFixed(0)} s: sent ${sent}, acked ${acked}, delivered ${received} of ${expectedDeliveries}${sendDone ? ' (draining)' : ''}\n`,
        );
      }
      if (sendDone && received >= expectedDeliveries) break;
      if (clock() > drainDeadline) {
        notes.push(
          `${expectedDeliveries - received} deliveries missing ${options.drainTimeoutS} s after the last send (counted lost)`,
        );
        break;
      }
    }
    const drainMs = clock() - sendEndedAt;
    const cpuShares: CpuShare[] = cpu.finish();
    const workAfter = await target.workCounts?.();
    const hops = hopTimes(hopsBefore, await readHopSnapshot(metricsSources.opsUrls), metricsSources.namespace);
    const work =
      workBefore === undefined || workAfter === undefined
        ? null
        : workPerMessage(workBefore, workAfter, options.messages);
    const runWallS = (clock() - startMs) / 1000;
    const reports: WorkerReport[] = await Promise.all(
      workers.map(async (worker) => (await worker.request({ type: 'report' }, 'report')).report),
    );

    // catchup: the offline device comes back.
    let resume: ResumeResult | null = null;
    if (plan.offlineDevice >= 0) {
      const { user, deviceId } = plan.device(plan.offlineDevice);
      process.stdout.write(`the offline device reconnects (${options.messages} messages waiting)...\n`);
      resume = await resumeOfflineDevice(
        plan,
        offlineUrl,
        await token(plan.userId(user), deviceId),
        Math.max(60_000, options.drainTimeoutS * 1000 * 4),
        options.ackIntervalMs,
      );
    }

    // ---- figures ----
    const ledger = mergeLedgerSummaries(reports.map((r) => r.ledger));
    const deliveryLatency = new LatencyHistogram();
    const deliveryLatencyAll = new LatencyHistogram();
    const ackLatency = new LatencyHistogram();
    const sendLag = new LatencyHistogram();
    for (const report of reports) {
      deliveryLatency.merge(report.delivery);
      deliveryLatencyAll.merge(report.deliveryAll);
      ackLatency.merge(report.ack);
      sendLag.merge(report.sendLag);
    }
    const perSecond = addPerSecond(reports.map((r) => r.deliveredPerSecond));
    const measuredFrom = options.warmupS;
    const measuredTo = Math.max(measuredFrom + 1, Math.floor(options.seconds));
    const deliveredPerSecond = meanRate(perSecond, measuredFrom, measuredTo);
    const offeredDeliveriesPerSecond = options.rate * plan.recipientsPerMessage;
    const sum = (pick: (r: WorkerReport) => number): number => reports.reduce((total, r) => total + pick(r), 0);
    const mergeCodes = (pick: (r: WorkerReport) => Readonly<Record<string, number>>): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const report of reports)
        for (const [code, count] of Object.entries(pick(report))) out[code] = (out[code] ?? 0) + count;
      return out;
    };
    const closes = mergeCodes((r) => r.closes);
    const serverCloses = Object.values(closes).reduce((a, b) => a + b, 0);
    const verdictInput = {
      ledger,
      offeredDeliveriesPerSecond,
      deliveredPerSecond,
      late: sum((r) => r.late),
      lateMs: options.lateMs,
      rejected: sum((r) => r.rejected),
      unsent: sum((r) => r.unsent),
      sendLagP99Ms: sendLag.percentiles().p99Ms,
      failedConnections,
      serverCloses,
      fillOnly: options.scenario === 'catchup',
    };
    const verdict = judge(verdictInput);
    const resumeProblems: string[] = [];
    if (resume !== null) {
      const r = resume.ledger;
      if (r.lost > 0) resumeProblems.push(`${r.lost} of ${r.expected} messages not replayed`);
      if (r.duplicates > 0) resumeProblems.push(`${r.duplicates} duplicates in the replay`);
      if (r.outOfOrder > 0 || r.inboxRegressions > 0)
        resumeProblems.push(`${r.outOfOrder + r.inboxRegressions} out of order in the replay`);
    }
    const loadAverageAtEnd = loadavg().map((value) => Math.round(value * 100) / 100);
    const deliveryP = deliveryLatency.percentiles();
    const deliveryAllP = deliveryLatencyAll.percentiles();
    const ackP = ackLatency.percentiles();
    const lagP = sendLag.percentiles();

    // Ratios to the parts' limits (--baseline).
    const ratios: Array<[string, string]> = [];
    if (baseline !== null && !('skipped' in baseline) && options.mode === 'embedded') {
      ratios.push(['ratios', 'none: embedded mode uses neither Kafka nor Cassandra (run --mode stack --baseline)']);
    }
    if (baseline !== null && !('skipped' in baseline) && options.mode === 'stack') {
      const hop1 = baseline.kafka.find((k) => k.partitions === 1);
      const hop12 = baseline.kafka.find((k) => k.partitions === 12);
      for (const hop of [hop1, hop12]) {
        if (hop !== undefined && 'latency' in hop) {
          ratios.push([
            `vs Kafka hop (${hop.partitions}p)`,
            `send→deliver p50 = ${(deliveryP.p50Ms / hop.latency.p50Ms).toFixed(2)} × one hop's p50 (${hop.latency.p50Ms} ms), p99 = ${(deliveryP.p99Ms / hop.latency.p99Ms).toFixed(2)} × (${hop.latency.p99Ms} ms); the path has 4 Kafka hops (chat.commands, chat.events, user.inbox, gateway deliveries)`,
          ]);
        }
      }
      if ('plainInsertsPerSecond' in baseline.cassandra) {
        const c = baseline.cassandra;
        // Rows the path writes per delivered message: one inbox row per member (the sender's included).
        const inboxRowsPerSecond = (deliveredPerSecond * (plan.recipientsPerMessage + 1)) / plan.recipientsPerMessage;
        ratios.push([
          'vs Cassandra',
          `${Math.round(inboxRowsPerSecond)} inbox rows/s = ${((100 * inboxRowsPerSecond) / c.plainInsertsPerSecond).toFixed(1)} % of plain prepared inserts (${c.plainInsertsPerSecond}/s), ${((100 * inboxRowsPerSecond) / c.lwtInsertsPerSecond).toFixed(1)} % of IF NOT EXISTS inserts (${c.lwtInsertsPerSecond}/s)`,
        ]);
      }
    }

    const rows: Array<[string, string]> = [
      [
        'mode',
        options.mode === 'stack'
          ? `stack (ingest, fan-out, receipts, presence, push, ${options.gateways} gateway process(es) on Kafka, Cassandra, Redis; namespace sd-${runId})`
          : 'embedded (npm start launcher, all services in one process)',
      ],
      [
        'scenario',
        `${options.scenario}: ${plan.deviceCount} devices, ${options.chats} chat(s) of ${options.scenario === 'group' ? options.members : 2}, ${plan.recipientsPerMessage} recipient(s) per message`,
      ],
      [
        'offered',
        `${options.rate} msg/s for ${Math.round(options.seconds * 10) / 10} s = ${options.messages} messages, ${offeredDeliveriesPerSecond} deliveries/s (warm-up ${options.warmupS} s, ${options.bodyBytes} B bodies, acks every ${options.ackIntervalMs} ms)`,
      ],
      ['limits', limits.reasons.length > 0 ? limits.reasons.join('; ') : 'service defaults'],
      [
        'delivered/s',
        `${Math.round(deliveredPerSecond)} (mean over seconds ${measuredFrom}-${measuredTo} of the schedule) of ${offeredDeliveriesPerSecond} offered`,
      ],
      ['send→deliver', fmt(deliveryP)],
      // When mostly warm-up messages arrived (a run far past its capacity), their latencies are the news.
      ...(deliveryP.count < deliveryAllP.count / 2
        ? ([['send→deliver (all)', `${fmt(deliveryAllP)}, warm-up messages included`]] as Array<[string, string]>)
        : []),
      ['send→ack', fmt(ackP)],
      [
        'deliveries',
        `${ledger.received} of ${ledger.expected}: lost ${ledger.lost}, duplicated ${ledger.duplicates}, out of order ${ledger.outOfOrder + ledger.inboxRegressions}, unexpected ${ledger.unexpected}, own messages echoed to the sending device ${ledger.echoes}, late (> ${options.lateMs} ms) ${sum((r) => r.late)}`,
      ],
      [
        'sends',
        `${sum((r) => r.sent)} sent, ${sum((r) => r.acked)} acked, ${sum((r) => r.rejected)} rejected${Object.keys(mergeCodes((r) => r.rejectCodes)).length ? ` ${JSON.stringify(mergeCodes((r) => r.rejectCodes))}` : ''}, ${sum((r) => r.unsent)} unsent; ${sum((r) => r.acksSent)} inbox acks sent (${Math.round(sum((r) => r.acksSent) / runWallS)}/s)`,
      ],
      ['drain', `${Number.isNaN(drainMs) ? 'n/a' : (drainMs / 1000).toFixed(1)} s after the last scheduled send`],
      [
        'generator lag',
        `behind schedule ${fmt(lagP)}; clocks of ${workers.length} generators within ${maxOffset.toFixed(2)} ms`,
      ],
      [
        'setup',
        `${held} devices connected in ${(connectMs / 1000).toFixed(1)} s; chats created and seen in ${(setupMs / 1000).toFixed(1)} s`,
      ],
    ];
    if (resume !== null) {
      rows.push(
        [
          'resume',
          `${resume.ledger.received} of ${resume.ledger.expected} messages replayed: connect → hello ${resume.connectToHelloMs} ms, → all messages ${resume.connectToAllMessagesMs} ms, → syncDone ${resume.connectToSyncDoneMs} ms (${resume.messagesPerSecond} msg/s)`,
        ],
        [
          'resume order',
          `lost ${resume.ledger.lost}, duplicated ${resume.ledger.duplicates}, out of order ${resume.ledger.outOfOrder + resume.ledger.inboxRegressions}, ${resume.inboxFramesReplayed} inbox frames (cursor ${resume.cursorAtConnect})`,
        ],
      );
    }
    for (const share of cpuShares)
      rows.push([
        `CPU ${share.name}`,
        `${(share.shareOfOneCore * 100).toFixed(0)} % of a core (${share.cpuSeconds} s over ${runWallS.toFixed(1)} s)`,
      ]);
    if (work !== null) rows.push(...workRows(work));
    for (const hop of hops)
      rows.push([
        `hop ${hop.topic} → ${hop.group}`,
        `${hop.records} records: waited ${hop.meanDelayMs} ms, handled in ${hop.meanHandlerMs} ms (means)`,
      ]);
    if (baseline !== null) {
      if ('skipped' in baseline) rows.push(['baseline', `skipped: ${baseline.skipped}`]);
      else {
        const c = baseline.cassandra;
        rows.push([
          'Cassandra alone',
          'error' in c
            ? `failed: ${c.error}`
            : `${c.plainInsertsPerSecond} prepared inserts/s, ${c.lwtInsertsPerSecond} IF NOT EXISTS/s (${c.inFlight} in flight, ${c.secondsEach} s each)`,
        ]);
        for (const hop of baseline.kafka) {
          rows.push([
            `Kafka hop ${hop.partitions}p`,
            'error' in hop
              ? `failed: ${hop.error}`
              : `${fmt(hop.latency)} at ${hop.offeredPerSecond} records/s (${hop.consumed} of ${hop.produced} consumed)`,
          ]);
        }
        rows.push(...ratios);
      }
    }
    rows.push(...machineRows(machine, loadAverageAtEnd));
    rows.push([
      'code',
      `${source.commit}${source.uncommittedFiles === null ? '' : source.uncommittedFiles > 0 ? ` + ${source.uncommittedFiles} uncommitted files in libs/services/deploy` : ' (clean)'}`,
    ]);
    const sustained = verdict.sustained && resumeProblems.length === 0;
    if (resume !== null) {
      // catchup: the verdict is about the resume; the fill's own pace is reported beside it.
      const fill = judge({ ...verdictInput, fillOnly: false });
      rows.push([
        'fill',
        fill.sustained
          ? `the live deliveries to the online device kept up with ${options.rate} msg/s`
          : `the live deliveries did not keep up with ${options.rate} msg/s (${fill.problems.join('; ')}); the resume started once all were in the inbox`,
      ]);
      rows.push([
        'verdict',
        sustained
          ? `RESUMED: ${resume.ledger.received} messages in ${resume.connectToSyncDoneMs} ms, every one once and in order`
          : `NOT RESUMED CLEANLY: ${[...verdict.problems, ...resumeProblems].join('; ')}`,
      ]);
    } else {
      rows.push([
        'verdict',
        sustained
          ? `SUSTAINED ${options.rate} msg/s`
          : `NOT SUSTAINED: ${[...verdict.problems, ...resumeProblems].join('; ')}`,
      ]);
    }
    process.stdout.write(`\n${renderTwoColumns(rows)}\n`);
    for (const warning of verdict.warnings) process.stdout.write(`warning: ${warning}\n`);
    for (const note of notes) process.stdout.write(`note: ${note}\n`);

    const result = {
      benchmark: 'send-deliver',
      startedAt,
      mode: options.mode,
      scenario: options.scenario,
      runId,
      config: {
        ...options,
        devices: plan.deviceCount,
        recipientsPerMessage: plan.recipientsPerMessage,
        workers: workers.length,
      },
      raisedLimits: limits,
      environment: target.environment,
      machine,
      source,
      loadAverage: { start: loadAverageAtStart, end: loadAverageAtEnd },
      setup: {
        connected: held,
        failedConnections,
        connectMs: Math.round(connectMs),
        chatsSetupMs: Math.round(setupMs),
        clockOffsetMaxMs: maxOffset,
      },
      offeredDeliveriesPerSecond,
      deliveredPerSecond: Math.round(deliveredPerSecond * 10) / 10,
      deliveredPerSecondSeries: perSecond,
      sendToDeliver: deliveryP,
      sendToDeliverWithWarmup: deliveryAllP,
      sendToAck: ackP,
      generatorLag: lagP,
      deliveries: { ...ledger, late: sum((r) => r.late), lateMs: options.lateMs },
      sends: {
        sent: sum((r) => r.sent),
        acked: sum((r) => r.acked),
        rejected: sum((r) => r.rejected),
        rejectCodes: mergeCodes((r) => r.rejectCodes),
        unsent: sum((r) => r.unsent),
        acksSent: sum((r) => r.acksSent),
      },
      errorFrames: mergeCodes((r) => r.errorCodes),
      serverCloses: closes,
      drainMs: Math.round(drainMs),
      resume,
      cpu: { wallSeconds: Math.round(runWallS * 10) / 10, processes: cpuShares },
      workPerMessage: work,
      hops,
      baseline,
      ratios: Object.fromEntries(ratios),
      verdict: { sustained, problems: [...verdict.problems, ...resumeProblems], warnings: verdict.warnings },
      notes,
    };
    const path = await writeResult(
      options.resultsDir,
      startedAt,
      `send-deliver-${options.mode}-${options.scenario}`,
      result,
    );
    process.stdout.write(`result: ${path}\n`);
  } finally {
    // Also after a signal: the same stop, awaited here so that nothing is left running.
    await stopEverything();
  }
}

await main();
