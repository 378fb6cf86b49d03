/**
 * Runs the k6 scenarios (`steady.js`, `ramp.js`, `reconnect-storm.js`) against a gateway this process
 * starts: embedded (`npm start`'s launcher) or the stack (every service its own process on the running
 * Kafka, registry, Cassandra and Redis, in a namespace and keyspace of its own, deleted at the end) —
 * the send → deliver benchmark's targets. Before each scenario it creates fresh users and their direct
 * chats through the protocol and mints their tokens (prepare.ts); then it runs k6 (bounded: killed past
 * the scenario's length plus a margin), reads the summary k6 writes, prints the figures and writes JSON to
 * `results/`.
 *
 * `npm run bench:k6 -w @chatmesh/load-tests -- --target embedded --scenario all`
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineRows, renderTwoColumns, writeResult } from '../gateway/gateway-report.js';
import { startEmbedded, startStack, type SendDeliverTarget } from '../send-deliver/targets.js';
import { BenchError, readMachineInfo } from '../src/index.js';
import { findK6 } from './k6-binary.js';
import { figuresOf, formatTrend, type K6Figures, type K6Summary } from './k6-figures.js';
import { K6_USAGE, parseK6Options, scenarioSeconds, type K6Options, type K6Scenario } from './k6-options.js';
import { prepareUsers } from './prepare.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPTS: Record<K6Scenario, string> = {
  steady: 'steady.js',
  ramp: 'ramp.js',
  reconnect: 'reconnect-storm.js',
};

/** Runs k6 on `script`; resolves with its exit code (99: a threshold failed). */
async function runK6(
  k6: string,
  script: string,
  env: Readonly<Record<string, string>>,
  limitSeconds: number,
  logFile: string,
): Promise<number | string> {
  // bash raises the open files limit (a socket per VU), then becomes k6 (exec), so the pid is k6's.
  const command = `ulimit -n 20000 && exec ${[k6, 'run', '--quiet', '--no-usage-report', script].map((arg) => JSON.stringify(arg)).join(' ')} > ${JSON.stringify(logFile)} 2>&1`;
  const child = spawn('bash', ['-c', command], { cwd: HERE, env: { ...process.env, ...env }, stdio: 'inherit' });
  const killer = setTimeout(() => {
    process.stderr.write(`k6 still running after ${limitSeconds} s: stopping it\n`);
    child.kill('SIGINT');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  }, limitSeconds * 1000);
  const code = await new Promise<number | string>((done) =>
    child.once('exit', (exitCode, signal) => done(exitCode ?? signal ?? 'unknown')),
  );
  clearTimeout(killer);
  return code;
}

function print(scenario: K6Scenario, figures: K6Figures, exitCode: number | string): void {
  const rows: Array<[string, string]> = [
    [
      'sends',
      `${figures.sent} sent, ${figures.acked} acked, ${figures.rejected} rejected, ${figures.resent} re-sent after a reconnect`,
    ],
    [
      'deliveries',
      `${figures.delivered} delivered, lost ${figures.lost}, duplicates ${figures.duplicates} (echoes to the sender ${figures.echoes})`,
    ],
    ['send → deliver (live)', `p50 / p95 / p99 / max ${formatTrend(figures.delivery)}`],
    ['send → deliver (replay)', formatTrend(figures.replayDelivery)],
    ['send → ack', formatTrend(figures.sendAck)],
    ['connect → hello', formatTrend(figures.connectHello)],
    ['connect → syncDone', formatTrend(figures.connectSyncDone)],
    ['reconnect → hello', formatTrend(figures.reconnectHello)],
    ['reconnect → syncDone', formatTrend(figures.reconnectSyncDone)],
    [
      'errors',
      `rate ${(figures.errorRate * 100).toFixed(3)} %: ${figures.errorFrames} error frames, ${figures.unexpectedCloses} unexpected closes, ${figures.connectFailures} failed connects`,
    ],
    [
      'thresholds',
      `${figures.thresholdsOk ? 'all held' : 'FAILED'}: ${figures.thresholds.map((t) => `${t.metric} ${t.expression} ${t.ok ? 'ok' : 'FAILED'}`).join('; ')} (k6 exit ${exitCode})`,
    ],
  ];
  process.stdout.write(`\n== ${scenario} ==\n${renderTwoColumns(rows)}\n`);
}

async function startTarget(options: K6Options, runId: string, logDir: string): Promise<SendDeliverTarget> {
  const readyTimeoutMs = options.readyTimeoutS * 1000;
  if (options.target === 'embedded') return startEmbedded({ logDir, readyTimeoutMs, env: {} });
  return startStack({ runId: `k6${runId}`, logDir, readyTimeoutMs, gateways: 1, env: {} });
}

async function main(): Promise<void> {
  const parsed = parseK6Options(process.argv.slice(2), resolve(HERE, '../results'));
  if (parsed === 'help') {
    process.stdout.write(`${K6_USAGE}\n`);
    return;
  }
  const options = parsed;
  const k6 = findK6(options.k6); // before starting anything: a missing k6 fails at once
  const startedAt = new Date().toISOString();
  const runId = randomBytes(3).toString('hex');
  const logDir = `/tmp/chatmesh-bench/k6-${options.target}-${startedAt.replace(/[:.]/g, '-')}`;
  mkdirSync(logDir, { recursive: true });
  const machine = readMachineInfo();
  process.stdout.write(`starting the ${options.target} target (run ${runId}, logs in ${logDir})...\n`);
  const target = await startTarget(options, runId, logDir);
  const wsUrl = target.gatewayWsUrls[0]!;
  const runs: Array<Record<string, unknown>> = [];
  let thresholdsFailed = false;
  try {
    for (const scenario of options.scenarios) {
      const prefix = `k6${runId}${scenario}`; // fresh users per scenario: clientMessageIds never repeat
      const usersFile = join(logDir, `${scenario}-users.json`);
      const summaryFile = join(logDir, `${scenario}-summary.json`);
      const k6Log = join(logDir, `${scenario}-k6.log`);
      const prepared = performance.now();
      await prepareUsers({ wsUrl, signer: target.signer, prefix, pairs: options.pairs, file: usersFile });
      process.stdout.write(
        `${scenario}: ${options.pairs * 2} users, ${options.pairs} direct chats ready in ${((performance.now() - prepared) / 1000).toFixed(1)} s; running k6 (log ${k6Log})...\n`,
      );
      const loadAtStart = loadavg().map((v) => Math.round(v * 100) / 100);
      const env: Record<string, string> = {
        CHATMESH_K6_USERS: usersFile,
        CHATMESH_K6_SUMMARY: summaryFile,
        CHATMESH_K6_WS_URL: wsUrl,
        CHATMESH_K6_RATE_PER_USER: String(options.ratePerUser),
        CHATMESH_K6_SECONDS: String(options.seconds),
        CHATMESH_K6_CONNECT_SECONDS: String(options.connectSeconds),
        CHATMESH_K6_DRAIN_SECONDS: String(options.drainSeconds),
        CHATMESH_K6_RAMP_SECONDS: String(options.rampSeconds),
        CHATMESH_K6_RECONNECTS: String(options.reconnects),
        CHATMESH_K6_RECONNECT_JITTER_MS: String(options.reconnectJitterMs),
        CHATMESH_K6_P95_MS: String(options.p95Ms),
        CHATMESH_K6_P99_MS: String(options.p99Ms),
        CHATMESH_K6_RECONNECT_P95_MS: String(options.reconnectP95Ms),
        CHATMESH_K6_MAX_ERROR_RATE: String(options.maxErrorRate),
      };
      const exitCode = await runK6(k6, SCRIPTS[scenario], env, scenarioSeconds(options, scenario) + 60, k6Log);
      let summary: K6Summary;
      try {
        summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as K6Summary;
      } catch (error) {
        throw new BenchError('CM_ERR_BENCH_SETUP_FAILED', `k6 wrote no summary (exit ${exitCode}); see ${k6Log}`, {
          cause: error,
          context: { phase: scenario, k6Log },
        });
      }
      const figures = figuresOf(summary);
      print(scenario, figures, exitCode);
      if (!figures.thresholdsOk || figures.lost > 0) thresholdsFailed = true;
      runs.push({
        scenario,
        script: `load-tests/k6/${SCRIPTS[scenario]}`,
        users: options.pairs * 2,
        k6ExitCode: exitCode,
        figures,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
      });
    }
  } finally {
    await target.stop();
  }
  const k6Version = await new Promise<string>((done) => {
    const child = spawn(k6, ['version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('exit', () => done(text.trim()));
  });
  const result = {
    benchmark: 'k6',
    startedAt,
    target: options.target,
    environment: target.environment,
    k6: k6Version,
    options: { ...options, k6: k6 },
    runs,
    machine,
    note: options.note,
  };
  const name = `k6-${options.target}${options.scenarios.length === 1 ? `-${options.scenarios[0]}` : ''}`;
  const path = await writeResult(options.resultsDir, startedAt, name, result);
  process.stdout.write(
    `\n${renderTwoColumns([
      ...machineRows(
        machine,
        loadavg().map((v) => Math.round(v * 100) / 100),
      ),
      ['result', path],
    ])}\n`,
  );
  if (thresholdsFailed) {
    process.stdout.write('a threshold failed or messages were lost (see above)\n');
    process.exitCode = 1;
  }
}

await main();
