/**
 * The short chaos run: every service process, the two gateways and the run's own Kafka, Cassandra, Redis and
 * schema registry each hit once (SIGKILL, SIGSTOP/SIGCONT or a restart), both gateways' client networks cut or
 * silenced, under steady SDK traffic with devices going offline and coming back. Every acknowledged message
 * must reach every other member's device once, in chat order, and no one else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos, summarize } from '../chaos-run.js';
import { seededRandom, shortSchedule } from '../schedule.js';

test(
  'short chaos run: one fault of each kind on every component; 0 lost, 0 duplicated, 0 reordered, 0 leaked',
  { timeout: 1_500_000 },
  async (t) => {
    const schedule = shortSchedule();
    const log = (line: string): void => void process.stderr.write(`[chaos] ${line}\n`);
    const result = await runChaos({
      users: 12,
      ratePerSecond: 20,
      inFlightPerDevice: 4,
      offlineEveryMs: 8_000,
      offlineForMs: 5_000,
      random: seededRandom(15),
      warmUpAcks: 50,
      recoveryTimeoutMs: 120_000,
      betweenFaultsMs: 3_000,
      settleTimeoutMs: 180_000,
      nextFault: () => schedule.shift(),
      log,
    });
    const summary = summarize(result);
    for (const line of summary.split('\n')) t.diagnostic(line);
    // The SDK's own complaints (a gap it had to release, a command it gave up on) are shown, not asserted: what
    // the application was shown is what the checker judges.
    for (const error of result.clientErrors.slice(0, 10)) t.diagnostic(`client error: ${error}`);
    log(summary);
    const { report } = result;
    const sample = (items: readonly unknown[]): string => JSON.stringify(items.slice(0, 5));
    assert.deepEqual(report.recovery.length, shortSchedule().length);
    assert.ok(report.acknowledged > 200, `traffic flowed (${report.acknowledged} acknowledged)`);
    assert.equal(report.lost.length, 0, `lost: ${sample(report.lost)}`);
    assert.equal(report.duplicates.length, 0, `duplicates: ${sample(report.duplicates)}`);
    assert.equal(report.reordered.length, 0, `reordered: ${sample(report.reordered)}`);
    assert.equal(report.leaked.length, 0, `leaked: ${sample(report.leaked)}`);
    assert.equal(report.ackMismatches.length, 0, `ack mismatches: ${sample(report.ackMismatches)}`);
    assert.equal(report.unanswered, 0, 'every send was answered once the faults were over');
    assert.deepEqual(
      result.faults.filter((f) => !f.recovered).map((f) => f.label),
      [],
      'every fault was recovered from',
    );
  },
);
