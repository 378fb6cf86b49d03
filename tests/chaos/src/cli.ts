/**
 * `npm run chaos -w @chatmesh/chaos-tests -- [--messages N] [--duration 30m] [--users N] [--rate N] [--seed N]`:
 * the long chaos run. Rounds of faults (every target × kill, pause, restart; every gateway's network cut and
 * silenced; shuffled by the seed) run under steady traffic until N acknowledged messages or the duration,
 * whichever comes first; then the checker's figures are printed and written to
 * `tests/chaos/results/chaos-<time>.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isClean } from './checker.js';
import { runChaos, summarize } from './chaos-run.js';
import { longRound, seededRandom, type FaultStep } from './schedule.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '30m' },
    users: { type: 'string', default: '16' },
    rate: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    hold: { type: 'string', default: '5000' },
  },
});

function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!match) throw new Error(`--duration: expected a number with ms, s, m or h (got "${text}")`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1_000;
  return Number(match[1]) * unit;
}
function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name}: expected a positive integer (got "${text}")`);
  return value;
}

const messages = positive('messages', values.messages);
const limitMs = durationMs(values.duration);
const seed = positive('seed', values.seed);
const random = seededRandom(seed);
let round: FaultStep[] = [];
const log = (line: string): void =>
  void process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const result = await runChaos({
  users: positive('users', values.users),
  ratePerSecond: positive('rate', values.rate),
  inFlightPerDevice: 4,
  offlineEveryMs: 8_000,
  offlineForMs: 5_000,
  random,
  warmUpAcks: 50,
  recoveryTimeoutMs: 120_000,
  betweenFaultsMs: 5_000,
  settleTimeoutMs: 300_000,
  nextFault: ({ acked, elapsedMs }) => {
    if (acked >= messages || elapsedMs >= limitMs) return undefined;
    if (round.length === 0) round = longRound(random, positive('hold', values.hold));
    return round.shift();
  },
  log,
});

const summary = summarize(result);
process.stdout.write(`${summary}\n`);
const dir = fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
const { report } = result;
writeFileSync(
  file,
  `${JSON.stringify(
    {
      options: { ...values },
      durationMs: result.durationMs,
      users: result.users,
      chats: result.chats,
      ackedPerSecond: result.ackedPerSecond,
      sends: report.sends,
      acknowledged: report.acknowledged,
      failed: report.failed,
      unanswered: report.unanswered,
      delivered: report.delivered,
      lost: report.lost.length,
      duplicated: report.duplicates.length,
      reordered: report.reordered.length,
      leaked: report.leaked.length,
      ackMismatches: report.ackMismatches.length,
      examples: {
        lost: report.lost.slice(0, 20),
        duplicates: report.duplicates.slice(0, 20),
        reordered: report.reordered.slice(0, 20),
        leaked: report.leaked.slice(0, 20),
      },
      recovery: report.recovery.map((r, i) => ({ ...r, recovered: result.faults[i]?.recovered })),
      clientErrors: result.clientErrors,
      logDir: result.logDir,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`written to ${file}\n`);
process.exitCode = isClean(report) ? 0 : 1;
