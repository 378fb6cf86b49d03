import type { BenchMode, BenchScenario, OnlineDevices } from './bench-options.js';
import type { LatencySummary } from './latency-stats.js';
import type { MachineInfo } from './machine-info.js';

/** What one message-path run measured; written as JSON to `load-tests/results/`. */
export interface MessagePathResult {
  readonly benchmark: 'message-path';
  readonly startedAt: string;
  readonly mode: BenchMode;
  readonly scenario: BenchScenario;
  readonly online: OnlineDevices;
  /** Measured sends (warm-up included) and how many were answered. */
  readonly messages: {
    readonly sent: number;
    readonly accepted: number;
    readonly rejected: number;
    readonly warmup: number;
    readonly timedOut: number;
  };
  readonly chats: { readonly count: number; readonly membersEach: number; readonly setupS: number };
  readonly concurrency: number;
  /** Send phase, first send to last answer. */
  readonly durationS: number;
  /** Acknowledgements per second after the warm-up (null when the run was too short to measure). */
  readonly acceptedPerSecond: number | null;
  /** Send → CommandResult, after the warm-up. */
  readonly ackLatency: LatencySummary;
  readonly inboxRows: {
    /** messages × members: what fan-out must append for the measured sends. */
    readonly expected: number;
    /** Appended during the measured phase (fan-out's `inboxEntries - replays`). */
    readonly appended: number;
    /** Rows fan-out saw again and did not store (replays): 0 in a clean run. */
    readonly replays: number;
    /** Appends per second from the end of the warm-up until every expected row was in. */
    readonly perSecond: number | null;
    /** Rows still to append when the last ack arrived: how far fan-out ran behind ingest. */
    readonly behindAtLastAck: number;
    /** From the last ack until the last expected row was appended. */
    readonly drainS: number;
  };
  /** InboxDelivery records the driver's gateway topic received (`--online all` only). */
  readonly deliveries: { readonly received: number; readonly perSecond: number | null };
  readonly machine: MachineInfo;
  /** Load averages at the end of the run (the machine info holds those at the start). */
  readonly loadAverageAtEnd: readonly number[];
  readonly environment: Readonly<Record<string, unknown>>;
  readonly notes: readonly string[];
}

/** `<date>-<mode>-<scenario>.json`, date as YYYY-MM-DD of the run's start. */
export function resultFileName(result: Pick<MessagePathResult, 'startedAt' | 'mode' | 'scenario'>): string {
  return `${result.startedAt.slice(0, 10)}-${result.mode}-${result.scenario}.json`;
}

function fixed(value: number | null, digits = 0): string {
  return value === null || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
}

/** The result as a two-column text table for the terminal. */
export function renderResultTable(result: MessagePathResult): string {
  const m = result.machine;
  const rows: Array<[string, string]> = [
    ['mode', result.mode],
    [
      'scenario',
      `${result.scenario} (${result.chats.count} chats x ${result.chats.membersEach} members, devices online: ${result.online})`,
    ],
    [
      'messages',
      `${result.messages.sent} sent, ${result.messages.accepted} accepted, ${result.messages.rejected} rejected, ${result.messages.timedOut} unanswered (warm-up ${result.messages.warmup})`,
    ],
    ['concurrency', `${result.concurrency} sends in flight`],
    ['duration', `${fixed(result.durationS, 1)} s (setup ${fixed(result.chats.setupS, 1)} s)`],
    ['accepted msg/s', fixed(result.acceptedPerSecond)],
    [
      'ack latency p50/p99',
      `${fixed(result.ackLatency.p50Ms, 1)} / ${fixed(result.ackLatency.p99Ms, 1)} ms (p90 ${fixed(result.ackLatency.p90Ms, 1)}, max ${fixed(result.ackLatency.maxMs, 1)})`,
    ],
    ['inbox rows/s', fixed(result.inboxRows.perSecond)],
    [
      'inbox rows',
      `${result.inboxRows.appended} of ${result.inboxRows.expected} appended, ${result.inboxRows.replays} replays; ${result.inboxRows.behindAtLastAck} behind at last ack, drained in ${fixed(result.inboxRows.drainS, 1)} s`,
    ],
    [
      'deliveries/s',
      result.online === 'all'
        ? `${fixed(result.deliveries.perSecond)} (${result.deliveries.received} received)`
        : 'n/a (no device online: fan-out takes the push path)',
    ],
    ['machine', `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.os}`],
    ['load average', `${m.loadAverage.join(' ')} at start, ${result.loadAverageAtEnd.join(' ')} at end`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}
