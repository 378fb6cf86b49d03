/**
 * The fault schedule: which component is hit, how, and for how long. Pure data, so the short and the long
 * schedules are checked by unit tests (every target and every kind present) without starting anything.
 */

/** The service processes of the stack (two gateways, each its own process). */
export const SERVICE_TARGETS = ['ingest', 'fan-out', 'receipts', 'presence', 'push', 'gateway-a', 'gateway-b'] as const;
/** The servers the stack runs on (the run's own: see private-infra.ts). */
export const SERVER_TARGETS = ['kafka', 'cassandra', 'redis', 'schema-registry'] as const;
export const GATEWAYS = ['gateway-a', 'gateway-b'] as const;

export type ServiceTarget = (typeof SERVICE_TARGETS)[number];
export type ServerTarget = (typeof SERVER_TARGETS)[number];
export type GatewayTarget = (typeof GATEWAYS)[number];
export type ProcessTarget = ServiceTarget | ServerTarget;

/**
 * - `kill`: SIGKILL, down for `holdMs`, then started again;
 * - `pause`: SIGSTOP for `holdMs` (a zombie: its sockets stay open, nothing answers), then SIGCONT;
 * - `restart`: SIGTERM (graceful stop), then started again at once;
 * - `cut`: the network between a gateway and its clients destroys every connection (both sides see it);
 * - `silence`: the network between a gateway and its clients drops every byte of the open connections without
 *   closing them (only heartbeats can tell); new connections pass.
 */
export type FaultStep =
  | { readonly kind: 'kill' | 'pause' | 'restart'; readonly target: ProcessTarget; readonly holdMs: number }
  | { readonly kind: 'cut' | 'silence'; readonly target: GatewayTarget; readonly holdMs: 0 };

export const FAULT_KINDS = ['kill', 'pause', 'restart', 'cut', 'silence'] as const;

export function describeStep(step: FaultStep): string {
  return step.holdMs > 0 ? `${step.kind} ${step.target} (${step.holdMs} ms)` : `${step.kind} ${step.target}`;
}

/**
 * The short schedule of `npm test`: every process and server hit once, every kind of fault at least once, the
 * gateways also cut and silenced on the network.
 */
export function shortSchedule(holdMs = 3_000): FaultStep[] {
  return [
    { kind: 'kill', target: 'ingest', holdMs },
    { kind: 'pause', target: 'fan-out', holdMs },
    { kind: 'restart', target: 'receipts', holdMs: 0 },
    { kind: 'kill', target: 'presence', holdMs },
    { kind: 'pause', target: 'push', holdMs },
    { kind: 'kill', target: 'gateway-a', holdMs },
    { kind: 'pause', target: 'gateway-b', holdMs },
    { kind: 'cut', target: 'gateway-a', holdMs: 0 },
    { kind: 'silence', target: 'gateway-b', holdMs: 0 },
    { kind: 'kill', target: 'kafka', holdMs },
    // A Cassandra restart is what once dead-lettered records on the message path (driver errors not retried).
    { kind: 'kill', target: 'cassandra', holdMs },
    { kind: 'pause', target: 'redis', holdMs },
    { kind: 'restart', target: 'schema-registry', holdMs: 0 },
  ];
}

/**
 * One round of the long schedule: every target × kill, pause and restart, and every gateway cut and silenced,
 * in an order shuffled by `random` (seeded by the caller so a run can be repeated).
 */
export function longRound(random: () => number, holdMs = 5_000): FaultStep[] {
  const steps: FaultStep[] = [];
  for (const target of [...SERVICE_TARGETS, ...SERVER_TARGETS]) {
    steps.push(
      { kind: 'kill', target, holdMs },
      { kind: 'pause', target, holdMs },
      { kind: 'restart', target, holdMs: 0 },
    );
  }
  for (const target of GATEWAYS) steps.push({ kind: 'cut', target, holdMs: 0 }, { kind: 'silence', target, holdMs: 0 });
  for (let i = steps.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [steps[i], steps[j]] = [steps[j]!, steps[i]!];
  }
  return steps;
}

/** A small seeded generator (mulberry32): the same seed gives the same schedule and traffic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
