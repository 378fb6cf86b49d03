/**
 * The message-path benchmark (issue 5): a driver playing a delivery gateway sends ChatCommands to
 * `chat.commands` and reads CommandResults from its own `gateway.<id>.deliveries`, against ingest and
 * fan-out running embedded (in this process) or on the real stack (child processes on Kafka, the
 * registry, Cassandra and Redis). It prints accepted messages/s, ack latency and inbox rows/s with the
 * machine it ran on, and writes the same as JSON to `load-tests/results/<date>-<mode>-<scenario>.json`.
 *
 *   npm run bench:message-path -w @chatmesh/load-tests -- --mode embedded --scenario direct --messages 20000
 *
 * Every phase has a count and a time limit; all traffic stays on loopback. See load-tests/README.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isChatmeshError } from '@chatmesh/errors';
import { ensureTopics } from '@chatmesh/runtime';
import { gatewayDeliveriesTopic } from '@chatmesh/schemas';
import {
  BENCH_DEVICE_ID,
  BenchError,
  createChatCommand,
  createScenarioPlan,
  MESSAGE_PATH_USAGE,
  originOf,
  parseMessagePathOptions,
  rateBetween,
  readMachineInfo,
  renderResultTable,
  resultFileName,
  sendMessageCommand,
  summarizeLatencies,
  type MessagePathOptions,
  type MessagePathResult,
  type ProgressSample,
} from '../src/index.js';
import type { BenchTarget, ServiceCounters } from './bench-target.js';
import { startEmbeddedTarget } from './embedded-target.js';
import { startGatewayDriver, type GatewayDriver } from './gateway-driver.js';
import { startStackTarget } from './stack-target.js';

const LOAD_TESTS_DIR = fileURLToPath(new URL('../', import.meta.url));
/** How often the services' counters are read during the measured phase. */
const SAMPLE_INTERVAL_MS = 250;
/** Parallel chat creations and device registrations in the setup phase. */
const SETUP_CONCURRENCY = 16;

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until true; bounded by `timeoutMs`. @throws BenchError CM_ERR_BENCH_TIMEOUT */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, phase: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new BenchError('CM_ERR_BENCH_TIMEOUT', `${what}: not done within ${Math.round(timeoutMs / 1000)} s`, {
    context: { phase },
  });
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
async function forEachLimited(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

const appendedRows = (c: ServiceCounters): number => c.inboxEntries - c.replays;

async function runBenchmark(options: MessagePathOptions): Promise<MessagePathResult> {
  const runId = randomBytes(4).toString('hex');
  const gatewayId = `bench-${runId}`;
  const gatewayTopic = gatewayDeliveriesTopic(gatewayId);
  const machine = readMachineInfo();
  const startedAt = new Date().toISOString();
  const plan = createScenarioPlan(options.scenario, {
    runId,
    directChats: options.directChats,
    groups: options.groups,
  });
  const notes: string[] = [];
  log(
    `run ${runId}: ${options.mode} ${options.scenario}, ${plan.chats.length} chats x ${plan.rowsPerMessage} members, ${options.messages} messages`,
  );

  const target: BenchTarget =
    options.mode === 'embedded'
      ? await startEmbeddedTarget({ logLevel: 'warn' })
      : await startStackTarget({
          runId,
          gatewayTopics: [gatewayTopic.name, `${gatewayTopic.name}.dlq`],
          logLevel: 'warn',
          cpuProfileDir: options.cpuProfileDir,
          keepKeyspace: options.keepKeyspace,
          logDir: join('/tmp', 'chatmesh-bench', runId),
        });
  let driver: GatewayDriver | undefined;
  let profiler: Session | undefined;
  const onSignal = (): void => {
    log('interrupted: stopping the services');
    void target.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await waitUntil(() => target.isReady(), options.readyTimeoutS * 1000, 'ingest and fan-out ready', 'setup');
    // The gateway owns its delivery topic; the driver plays the gateway.
    await ensureTopics(target.bus, target.codec, [gatewayTopic]);
    driver = await startGatewayDriver({
      bus: target.bus,
      codec: target.codec,
      gatewayId,
      ackTimeoutMs: options.ackTimeoutMs,
    });
    const activeDriver = driver;

    const setupStart = performance.now();
    if (options.online === 'all') {
      const ttlMs = (options.maxDurationS + options.drainTimeoutS + 600) * 1000;
      await forEachLimited(plan.users.length, SETUP_CONCURRENCY * 4, async (i) => {
        await target.presence.registerDevice({
          userId: plan.users[i]!,
          deviceId: BENCH_DEVICE_ID,
          gatewayId,
          connectionId: `${runId}-${i}`,
          ttlMs,
        });
      });
    }
    const before = await target.counters();
    await forEachLimited(plan.chats.length, SETUP_CONCURRENCY, async (i) => {
      const chat = plan.chats[i]!;
      const origin = originOf(chat.creator, gatewayId, `${runId}-create-${i}`, Date.now());
      const { result } = await activeDriver.send(createChatCommand(chat, origin));
      if (!result.accepted) {
        throw new BenchError(
          'CM_ERR_BENCH_SETUP_FAILED',
          `creating ${chat.chatId} was refused: ${result.reason?.code} ${result.reason?.message}`,
          {
            context: { phase: 'setup', chatId: chat.chatId, code: result.reason?.code },
          },
        );
      }
    });
    // Chat creation reaches every member's inbox too; measure only once those rows are in.
    const setupRows = plan.chats.length * plan.rowsPerMessage;
    await waitUntil(
      async () => appendedRows(await target.counters()) - appendedRows(before) >= setupRows,
      options.drainTimeoutS * 1000,
      `fan-out of the ${plan.chats.length} chat creations (${setupRows} inbox rows)`,
      'setup',
    );
    const setupS = (performance.now() - setupStart) / 1000;
    log(`setup done in ${setupS.toFixed(1)} s; sending ${options.messages} messages, ${options.concurrency} in flight`);

    if (options.cpuProfileDir && options.mode === 'embedded') {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }

    const cpuAtStart = await target.cpuSeconds();
    const baseline = await target.counters();
    const baseDeliveries = activeDriver.inboxDeliveries();
    const phaseStart = performance.now();
    const body = 'x'.repeat(options.bodyBytes);
    const ackTimesMs: number[] = [];
    const latenciesByAck: number[] = [];
    const rejectCodes: Record<string, number> = {};
    let sent = 0;
    let rejected = 0;
    let timedOut = 0;
    const samples: ProgressSample[] = [];
    let sampling = true;
    let lastAckAtMs = 0;
    let lastCounters = baseline;
    const sampler = (async () => {
      while (sampling) {
        try {
          lastCounters = await target.counters();
        } catch (error) {
          // A service that stops answering shows up as a stalled count, not as a crash of the driver.
          log(`reading the services' counters failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        samples.push({
          atMs: performance.now() - phaseStart,
          acks: ackTimesMs.length,
          inboxRows: appendedRows(lastCounters) - appendedRows(baseline),
          deliveries: activeDriver.inboxDeliveries() - baseDeliveries,
        });
        await sleep(SAMPLE_INTERVAL_MS);
      }
    })();

    const sendDeadline = phaseStart + options.maxDurationS * 1000;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < options.messages && performance.now() < sendDeadline) {
        const index = next++;
        const { chat, userId } = plan.senderOf(index);
        const origin = originOf(userId, gatewayId, `${runId}-m${index}`, Date.now());
        sent++;
        try {
          const answer = await activeDriver.send(sendMessageCommand(chat.chatId, origin, `${runId}-m${index}`, body));
          if (answer.result.accepted) {
            ackTimesMs.push(answer.answeredAtMs - phaseStart);
            latenciesByAck.push(answer.latencyMs);
            lastAckAtMs = answer.answeredAtMs - phaseStart;
          } else {
            rejected++;
            const code = answer.result.reason?.code ?? 'unknown';
            rejectCodes[code] = (rejectCodes[code] ?? 0) + 1;
          }
        } catch (error) {
          if (!(isChatmeshError(error) && error.code === 'CM_ERR_BENCH_TIMEOUT')) throw error;
          timedOut++;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const sendPhaseS = (performance.now() - phaseStart) / 1000;
    if (sent < options.messages)
      notes.push(`send phase cut at --max-duration-s ${options.maxDurationS}: ${sent} of ${options.messages} sent`);

    const accepted = ackTimesMs.length;
    const expectedRows = accepted * plan.rowsPerMessage;
    const rowsAtLastAck = appendedRows(lastCounters) - appendedRows(baseline);
    const drainStart = performance.now();
    try {
      await waitUntil(
        async () => appendedRows(lastCounters) - appendedRows(baseline) >= expectedRows,
        options.drainTimeoutS * 1000,
        `fan-out of ${accepted} messages (${expectedRows} inbox rows)`,
        'drain',
      );
    } catch (error) {
      if (!(isChatmeshError(error) && error.code === 'CM_ERR_BENCH_TIMEOUT')) throw error;
      notes.push(`fan-out did not append every expected row within --drain-timeout-s ${options.drainTimeoutS}`);
    }
    // One more sample after the rows are in, so the window ends where the last row landed.
    await sleep(SAMPLE_INTERVAL_MS * 2);
    sampling = false;
    await sampler;
    const drainS = (performance.now() - drainStart) / 1000;
    const measuredWallS = (performance.now() - phaseStart) / 1000;
    const final = await target.counters();
    const cpuAtEnd = await target.cpuSeconds();
    // Busy share of one core over the measured phase: near 100 % means CPU-bound, far below means waiting on I/O.
    const cpuBusy = Object.fromEntries(
      Object.entries(cpuAtEnd).map(([name, seconds]) => [
        name,
        `${(seconds - (cpuAtStart[name] ?? 0)).toFixed(1)} s CPU = ${Math.round((100 * (seconds - (cpuAtStart[name] ?? 0))) / measuredWallS)} % of one core over ${measuredWallS.toFixed(1)} s`,
      ]),
    );

    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      mkdirSync(options.cpuProfileDir!, { recursive: true });
      const file = join(options.cpuProfileDir!, `embedded-${options.scenario}-${runId}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      log(`CPU profile of the measured phase: ${file}`);
      profiler.disconnect();
      profiler = undefined;
    }

    const warmup = Math.min(options.warmupMessages, Math.max(0, accepted - 1));
    const warmupEndMs = ackTimesMs[warmup] ?? 0;
    const measuredAcks = accepted - warmup - 1;
    const acceptedPerSecond =
      measuredAcks > 0 && lastAckAtMs > warmupEndMs ? (measuredAcks * 1000) / (lastAckAtMs - warmupEndMs) : null;
    const rows = rateBetween(samples, 'inboxRows', { fromMs: warmupEndMs, toCount: expectedRows });
    const deliveries = rateBetween(samples, 'deliveries', { fromMs: warmupEndMs, toCount: expectedRows });
    const appended = appendedRows(final) - appendedRows(baseline);
    const replays = final.replays - baseline.replays;
    if (rejected > 0) notes.push(`rejected sends by code: ${JSON.stringify(rejectCodes)}`);
    if (timedOut > 0) notes.push(`${timedOut} sends got no answer within --ack-timeout-ms ${options.ackTimeoutMs}`);
    if (appended !== expectedRows)
      notes.push(`inbox rows appended ${appended} != expected ${expectedRows} (accepted x members)`);
    notes.push(...(await target.checkIsolation()));
    if (options.mode === 'embedded')
      notes.push('embedded: the driver, ingest and fan-out share one Node.js process and event loop');

    return {
      benchmark: 'message-path',
      startedAt,
      mode: options.mode,
      scenario: options.scenario,
      online: options.online,
      messages: { sent, accepted, rejected, warmup, timedOut },
      chats: { count: plan.chats.length, membersEach: plan.rowsPerMessage, setupS: Math.round(setupS * 10) / 10 },
      concurrency: options.concurrency,
      durationS: Math.round(sendPhaseS * 10) / 10,
      acceptedPerSecond: acceptedPerSecond === null ? null : Math.round(acceptedPerSecond),
      ackLatency: summarizeLatencies(latenciesByAck.slice(warmup)),
      inboxRows: {
        expected: expectedRows,
        appended,
        replays,
        perSecond: rows === null ? null : Math.round(rows.perSecond),
        behindAtLastAck: Math.max(0, expectedRows - rowsAtLastAck),
        drainS: Math.round(drainS * 10) / 10,
      },
      deliveries: {
        received: activeDriver.inboxDeliveries() - baseDeliveries,
        perSecond: options.online === 'all' && deliveries !== null ? Math.round(deliveries.perSecond) : null,
      },
      machine,
      loadAverageAtEnd: readMachineInfo().loadAverage,
      environment: {
        ...target.environment,
        ingestCounters: {
          accepted: final.accepted - baseline.accepted,
          duplicates: final.duplicates - baseline.duplicates,
          rejected: final.rejected - baseline.rejected,
        },
        fanOutCounters: {
          events: final.events - baseline.events,
          delivered: final.delivered - baseline.delivered,
          pushed: final.pushed - baseline.pushed,
        },
        cpuDuringMeasuredPhase: cpuBusy,
        bodyBytes: options.bodyBytes,
        // Key-ordered concurrency of the services (their defaults, 16, unless these variables are set).
        keyConcurrency: {
          ingest: process.env.CHATMESH_INGEST_KEY_CONCURRENCY ?? 'default',
          fanOut: process.env.CHATMESH_FAN_OUT_KEY_CONCURRENCY ?? 'default',
        },
        note: options.note,
      },
      notes,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (profiler) {
      await profiler.post('Profiler.stop').catch(() => {});
      profiler.disconnect();
    }
    await driver?.stop().catch((error: unknown) => log(`driver stop failed: ${String(error)}`));
    await target.stop();
  }
}

async function main(): Promise<number> {
  let options: MessagePathOptions | null;
  try {
    options = parseMessagePathOptions(process.argv.slice(2), { resultsDir: join(LOAD_TESTS_DIR, 'results') });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  if (options === null) {
    process.stdout.write(`${MESSAGE_PATH_USAGE}\n`);
    return 0;
  }
  const result = await runBenchmark(options);
  mkdirSync(options.resultsDir, { recursive: true });
  const file = join(options.resultsDir, resultFileName(result));
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${renderResultTable(result)}\n`);
  for (const note of result.notes) process.stdout.write(`note: ${note}\n`);
  process.stdout.write(`written: ${file}\n`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  const code = isChatmeshError(error) ? ` ${error.code}` : '';
  process.stderr.write(
    `bench failed${code}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  if (error instanceof Error && error.cause) process.stderr.write(`cause: ${String(error.cause)}\n`);
  process.exitCode = 1;
}
