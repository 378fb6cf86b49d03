/**
 * End-to-end message latency through the gateway (issue 6): SDK clients (`@chatmesh/client` on `ws`) in
 * direct chats with one receiver; the senders send at a fixed total rate (open loop) and the receiver
 * measures send() → `messageReceived` per message (matched by `clientMessageId`, all clients in this
 * process so one clock). The path is the whole one: gateway → `chat.commands` → ingest → fan-out →
 * the gateway's delivery topic → the receiver's socket.
 *
 * `npm run bench:gateway-latency -w @chatmesh/load-tests -- --mode embedded --rate 200 --seconds 20`
 *
 * Several senders share the rate because ingest limits each user to 20 sends/s (burst 40) by default,
 * and a benchmark should run the services with their defaults; each sender sends ≤ 10/s by default.
 */
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createChatClient, type ChatClient } from '@chatmesh/client';
import WebSocket from 'ws';
import { BenchError, readMachineInfo, summarizeLatencies } from '../src/index.js';
import { startEmbeddedProcess } from './embedded-process.js';
import { startStackGatewayTarget, type GatewayTarget } from './stack-gateway-target.js';
import { machineRows, renderTwoColumns, writeResult } from './gateway-report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const USAGE =
  'usage: npm run bench:gateway-latency -w @chatmesh/load-tests -- --mode embedded|stack [--rate N msg/s] [--seconds N]\n' +
  '         [--senders N] [--warmup-s N] [--body-bytes N] [--drain-timeout-s N] [--ready-timeout-s N] [--results-dir DIR] [--note TEXT]';

function invalid(message: string): never {
  throw new BenchError('CM_ERR_BENCH_INVALID_OPTIONS', `${message}\n${USAGE}`, { context: { phase: 'options' } });
}

function positive(raw: string, option: string, min = 1): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) invalid(`--${option} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      mode: { type: 'string', default: 'embedded' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '20' },
      senders: { type: 'string' },
      'warmup-s': { type: 'string', default: '2' },
      'body-bytes': { type: 'string', default: '100' },
      'drain-timeout-s': { type: 'string', default: '60' },
      'ready-timeout-s': { type: 'string', default: '240' },
      'results-dir': { type: 'string', default: resolve(HERE, '../results') },
      note: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.mode !== 'embedded' && values.mode !== 'stack')
    invalid(`--mode must be embedded or stack, got "${values.mode}"`);
  const rate = positive(values.rate, 'rate');
  const seconds = positive(values.seconds, 'seconds');
  const warmupS = positive(values['warmup-s'], 'warmup-s', 0);
  if (warmupS >= seconds) invalid('--warmup-s must be shorter than --seconds');
  return {
    mode: values.mode,
    rate,
    seconds,
    senders: values.senders === undefined ? Math.ceil(rate / 10) : positive(values.senders, 'senders'),
    warmupS,
    bodyBytes: positive(values['body-bytes'], 'body-bytes', 16),
    drainTimeoutS: positive(values['drain-timeout-s'], 'drain-timeout-s'),
    readyTimeoutS: positive(values['ready-timeout-s'], 'ready-timeout-s'),
    resultsDir: values['results-dir'],
    note: values.note,
  };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

async function devToken(gatewayUrl: string, userId: string, deviceId: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/v1/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, deviceId }),
  });
  if (response.status !== 200) {
    throw new BenchError('CM_ERR_BENCH_SETUP_FAILED', `POST /v1/dev/token answered ${response.status}`, {
      context: { phase: 'setup', userId },
    });
  }
  return ((await response.json()) as { token: string }).token;
}

/** Embedded mode: `npm start`'s launcher as a process; tokens from its `POST /v1/dev/token`. */
async function startEmbeddedTarget(logDir: string, readyTimeoutMs: number): Promise<GatewayTarget> {
  const embedded = await startEmbeddedProcess({ logDir, readyTimeoutMs });
  return {
    gatewayUrl: embedded.gatewayUrl,
    environment: { process: 'npm start launcher (all six services, memory bus/store/presence)', log: embedded.logFile },
    token: (userId, deviceId) => devToken(embedded.gatewayUrl, userId, deviceId),
    stop: () => embedded.stop(),
  };
}

function connectClient(target: GatewayTarget, userId: string): ChatClient {
  return createChatClient({
    url: target.gatewayUrl,
    deviceId: 'bench',
    tokenProvider: () => target.token(userId, 'bench'),
    webSocketFactory: (url) => new WebSocket(url, { perMessageDeflate: false }),
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const machine = readMachineInfo();
  const run = startedAt.replace(/[:.]/g, '-');
  const notes: string[] = options.note ? [options.note] : [];
  const logDir = `/tmp/chatmesh-bench/gateway-latency-${run}`;
  process.stdout.write(`starting the ${options.mode} services (logs in ${logDir})...\n`);
  const target =
    options.mode === 'stack'
      ? await startStackGatewayTarget({ logDir, readyTimeoutMs: options.readyTimeoutS * 1000 })
      : await startEmbeddedTarget(logDir, options.readyTimeoutS * 1000);
  const clients: ChatClient[] = [];
  try {
    const receiver = connectClient(target, 'lat-receiver');
    clients.push(receiver);
    const senders = Array.from({ length: options.senders }, (_, i) => connectClient(target, `lat-sender-${i}`));
    clients.push(...senders);
    await Promise.all(clients.map((client) => client.connected()));
    const chats = await Promise.all(
      senders.map(async (sender) => (await sender.createDirectChat('lat-receiver')).chatId),
    );

    const total = options.rate * options.seconds;
    const warmup = options.rate * options.warmupS;
    const sentAt = new Map<string, number>();
    const e2e: number[] = [];
    const ack: number[] = [];
    let received = 0;
    let rejected = 0;
    let firstRejection: string | null = null;
    let lastReceiveMs = 0;
    receiver.on('messageReceived', (frame) => {
      const start = sentAt.get(frame.clientMessageId);
      if (start === undefined) return;
      const now = performance.now();
      sentAt.delete(frame.clientMessageId);
      received++;
      lastReceiveMs = now;
      if (Number(frame.clientMessageId.slice(4)) >= warmup) e2e.push(now - start);
    });
    const padding = 'x'.repeat(options.bodyBytes);
    const t0 = performance.now();
    let measuredStartMs = t0;
    let maxLagMs = 0;
    for (let i = 0; i < total;) {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) * options.rate) / 1000) + 1);
      for (; i < due; i++) {
        const scheduled = t0 + (i * 1000) / options.rate;
        maxLagMs = Math.max(maxLagMs, now - scheduled);
        if (i === warmup) measuredStartMs = performance.now();
        const id = `lat-${i}`;
        const index = i % senders.length;
        const started = performance.now();
        sentAt.set(id, started);
        senders[index]!.send(chats[index]!, { body: padding }, { clientMessageId: id }).then(
          () => {
            if (i >= warmup) ack.push(performance.now() - started);
          },
          (error: unknown) => {
            rejected++;
            sentAt.delete(id);
            firstRejection ??=
              error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error);
          },
        );
      }
      await sleep(Math.max(0, t0 + (i * 1000) / options.rate - performance.now()));
    }
    const sendEndMs = performance.now();
    const drainDeadline = sendEndMs + options.drainTimeoutS * 1000;
    while (received + rejected < total && performance.now() < drainDeadline) await sleep(20);
    const missing = total - received - rejected;
    if (missing > 0) notes.push(`${missing} messages not received within ${options.drainTimeoutS} s of the last send`);
    if (rejected > 0) notes.push(`${rejected} sends rejected (first: ${firstRejection})`);

    const latency = summarizeLatencies(e2e);
    const ackLatency = summarizeLatencies(ack);
    const measuredReceived = e2e.length;
    const throughput = measuredReceived / ((lastReceiveMs - measuredStartMs) / 1000);
    const loadAverageAtEnd = loadavg().map((v) => Math.round(v * 100) / 100);
    const result = {
      benchmark: 'gateway-latency',
      startedAt,
      mode: options.mode,
      path:
        options.mode === 'stack'
          ? 'SDK sender → gateway process → Kafka chat.commands → ingest process (Cassandra) → Kafka chat.events → fan-out process (Cassandra, Redis) → Kafka gateway deliveries → gateway → SDK receiver'
          : 'SDK sender → gateway → chat.commands → ingest → fan-out → gateway deliveries → SDK receiver (one process: npm start launcher, memory bus/store)',
      environment: target.environment,
      rate: options.rate,
      seconds: options.seconds,
      senders: options.senders,
      warmupMessages: warmup,
      bodyBytes: options.bodyBytes,
      sent: total,
      received,
      rejected,
      sendPhaseS: Math.round((sendEndMs - t0) / 10) / 100,
      maxScheduleLagMs: Math.round(maxLagMs * 10) / 10,
      receivedPerSecond: Math.round(throughput * 10) / 10,
      endToEndLatency: latency,
      ackLatency,
      machine,
      loadAverageAtEnd,
      notes,
    };
    process.stdout.write(
      `\n${renderTwoColumns([
        [
          'mode',
          options.mode === 'stack'
            ? 'stack (ingest, fan-out, gateway processes on Kafka, Cassandra, Redis; clients in this one)'
            : 'embedded (npm start launcher in its own process; clients in this one)',
        ],
        [
          'offered',
          `${options.rate} msg/s for ${options.seconds} s from ${options.senders} sender(s) to 1 receiver (${options.bodyBytes} B bodies, warm-up ${options.warmupS} s)`,
        ],
        ['messages', `${total} sent, ${received} received, ${rejected} rejected, ${missing} missing`],
        [
          'throughput',
          `${result.receivedPerSecond} received msg/s (after warm-up); send loop lag max ${result.maxScheduleLagMs} ms`,
        ],
        [
          'send→received',
          `p50 ${latency.p50Ms} / p90 ${latency.p90Ms} / p99 ${latency.p99Ms} / max ${latency.maxMs} ms (mean ${latency.meanMs})`,
        ],
        [
          'send→ack',
          `p50 ${ackLatency.p50Ms} / p90 ${ackLatency.p90Ms} / p99 ${ackLatency.p99Ms} / max ${ackLatency.maxMs} ms`,
        ],
        ...machineRows(machine, loadAverageAtEnd),
      ])}\n`,
    );
    for (const note of notes) process.stdout.write(`note: ${note}\n`);
    const path = await writeResult(options.resultsDir, startedAt, `gateway-latency-${options.mode}`, result);
    process.stdout.write(`result: ${path}\n`);
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    await target.stop();
  }
}

await main();
