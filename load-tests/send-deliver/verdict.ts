/** Whether a run sustained what it offered, in plain words (pure, so it is unit-tested). */
import type { LedgerSummary } from './ledger.js';

export interface VerdictInput {
  readonly ledger: LedgerSummary;
  /** Deliveries per second offered (rate × recipients per message) and measured after the warm-up. */
  readonly offeredDeliveriesPerSecond: number;
  readonly deliveredPerSecond: number;
  /** Deliveries later than `lateMs` after their scheduled send. */
  readonly late: number;
  readonly lateMs: number;
  readonly rejected: number;
  readonly unsent: number;
  /** p99 of the generator's own lag behind its schedule, ms. */
  readonly sendLagP99Ms: number;
  readonly failedConnections: number;
  readonly serverCloses: number;
  /**
   * The sends only fill an offline device's inbox (catchup): lateness and throughput of the live
   * deliveries are reported but do not fail the run; loss, duplicates and order still do.
   */
  readonly fillOnly?: boolean;
}

export interface Verdict {
  readonly sustained: boolean;
  /** Why not (empty when sustained), and warnings about the measurement itself. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/** Mean of `perSecond[from..to-1]` (missing seconds count as 0). */
export function meanRate(perSecond: readonly number[], from: number, to: number): number {
  if (to <= from) return Number.NaN;
  let sum = 0;
  for (let second = from; second < to; second++) sum += perSecond[second] ?? 0;
  return sum / (to - from);
}

/** Adds per-second counts of several workers. */
export function addPerSecond(series: ReadonlyArray<readonly number[]>): number[] {
  const out: number[] = [];
  for (const counts of series) {
    counts.forEach((count, second) => {
      out[second] = (out[second] ?? 0) + count;
    });
  }
  return Array.from(out, (count) => count ?? 0);
}

export function judge(input: VerdictInput): Verdict {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { ledger } = input;
  const live = input.fillOnly !== true;
  if (ledger.lost > 0)
    problems.push(`${ledger.lost} of ${ledger.expected} deliveries lost (not delivered by the end of the drain)`);
  if (ledger.duplicates > 0) problems.push(`${ledger.duplicates} duplicate deliveries`);
  if (ledger.outOfOrder > 0) problems.push(`${ledger.outOfOrder} deliveries out of order`);
  if (ledger.inboxRegressions > 0) problems.push(`${ledger.inboxRegressions} inbox positions went backwards`);
  if (ledger.unexpected > 0) problems.push(`${ledger.unexpected} unexpected deliveries`);
  if (input.rejected > 0) problems.push(`${input.rejected} sends rejected`);
  if (live && input.late > 0)
    problems.push(`${input.late} deliveries later than ${input.lateMs} ms after their scheduled send`);
  if (live && !(input.deliveredPerSecond >= 0.95 * input.offeredDeliveriesPerSecond))
    problems.push(
      `delivered ${Math.round(input.deliveredPerSecond)}/s of ${Math.round(input.offeredDeliveriesPerSecond)}/s offered (below 95 %)`,
    );
  if (input.failedConnections > 0) problems.push(`${input.failedConnections} devices could not connect`);
  if (input.serverCloses > 0) problems.push(`${input.serverCloses} sockets closed by the server during the run`);
  if (input.unsent > 0) problems.push(`${input.unsent} sends not written (socket closed)`);
  if (input.sendLagP99Ms > 50)
    warnings.push(
      `the load generator ran behind its schedule (p99 ${input.sendLagP99Ms} ms): latencies include that lag (measured from the schedule), and the generator may be a bottleneck`,
    );
  return { sustained: problems.length === 0, problems, warnings };
}
