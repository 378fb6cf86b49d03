/** What the coordinator (bench.ts) and its load generator processes (worker.ts) say to each other over IPC. */
import type { HistogramData } from './histogram.js';
import type { LedgerSummary } from './ledger.js';
import type { PlanParams } from './plan.js';
import type { TokenSigner } from './tokens.js';

export interface WorkerConfig {
  readonly index: number;
  readonly workers: number;
  readonly plan: PlanParams;
  /** `ws://127.0.0.1:<port>/v1/ws` of each gateway; device `d` uses gateway `d mod length`. */
  readonly gatewayWsUrls: readonly string[];
  readonly signer: TokenSigner;
  /** Loopback source address of this worker's sockets (its own ephemeral port range). */
  readonly localAddress: string;
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  readonly ackIntervalMs: number;
  readonly bodyBytes: number;
}

export type ToWorker =
  | { type: 'clock' }
  | { type: 'connect' }
  | { type: 'createChats'; inFlight: number; timeoutMs: number }
  | { type: 'awaitChats'; timeoutMs: number }
  | { type: 'run'; startMs: number; rate: number; warmupMessages: number; lateMs: number }
  | { type: 'progress' }
  | { type: 'report' }
  | { type: 'close' };

export interface WorkerReport {
  readonly ledger: LedgerSummary;
  /** Scheduled send → delivery at the recipient's socket (after the warm-up messages). */
  readonly delivery: HistogramData;
  /** The same for every message, warm-up included. */
  readonly deliveryAll: HistogramData;
  /** Scheduled send → the sender's `ack` (after the warm-up). */
  readonly ack: HistogramData;
  /** How late each send left behind its schedule (the generator's own lag). */
  readonly sendLag: HistogramData;
  /** Deliveries per second since the start of the schedule (index = second). */
  readonly deliveredPerSecond: readonly number[];
  /** Deliveries (warm-up included) later than `lateMs` after their scheduled send. */
  readonly late: number;
  readonly sent: number;
  readonly acked: number;
  readonly rejected: number;
  readonly rejectCodes: Readonly<Record<string, number>>;
  readonly errorCodes: Readonly<Record<string, number>>;
  /** Sockets closed by the server during the run, by close code. */
  readonly closes: Readonly<Record<string, number>>;
  /** Sends not written because the socket was closed. */
  readonly unsent: number;
  /** `ack` frames (batched inbox acks) the devices sent during the run. */
  readonly acksSent: number;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'clock'; nowMs: number }
  | { type: 'connected'; held: number; failed: number; retried: number; firstError: string | null; ms: number }
  | { type: 'chatsCreated'; accepted: number; rejected: number; firstReject: string | null; ms: number }
  | { type: 'chatsSeen'; complete: boolean; missing: number; ms: number }
  | { type: 'progress'; sent: number; acked: number; received: number; sendDone: boolean }
  | { type: 'report'; report: WorkerReport }
  | { type: 'fatal'; message: string };
