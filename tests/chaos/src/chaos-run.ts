import { setTimeout as sleep } from 'node:timers/promises';
import { checkHistory, type ChaosReport, type FaultWindow } from './checker.js';
import { startChaosStack, type ChaosStack } from './chaos-stack.js';
import { startPrivateInfra, type PrivateInfra } from './private-infra.js';
import { describeStep, SERVER_TARGETS, type FaultStep, type ServerTarget, type ServiceTarget } from './schedule.js';
import { startTraffic, type Traffic, type TrafficOptions } from './traffic.js';

/** Options of {@link runChaos}. */
export interface ChaosRunOptions extends Omit<TrafficOptions, 'log'> {
  /** The next fault, or undefined to end the schedule (called after each fault has recovered). */
  readonly nextFault: (progress: { readonly acked: number; readonly elapsedMs: number }) => FaultStep | undefined;
  /** Acknowledged sends before the first fault. */
  readonly warmUpAcks: number;
  /** After a fault ends, how long the runner waits for the sends in flight to be answered before moving on. */
  readonly recoveryTimeoutMs: number;
  /** Steady traffic between two faults (after recovery). */
  readonly betweenFaultsMs: number;
  /** After the last fault: how long every send may take to be answered and every acknowledged message to arrive. */
  readonly settleTimeoutMs: number;
  readonly log: (line: string) => void;
}

export interface ChaosRunResult {
  readonly report: ChaosReport;
  readonly faults: ReadonlyArray<FaultWindow & { readonly recovered: boolean }>;
  readonly durationMs: number;
  /** Acknowledged sends per second over the traffic's whole span. */
  readonly ackedPerSecond: number;
  readonly users: number;
  readonly chats: number;
  readonly clientErrors: readonly string[];
  readonly logDir: string;
}

const isServer = (target: string): target is ServerTarget => (SERVER_TARGETS as readonly string[]).includes(target);

/** Applies one fault and returns once the component is back (restarted, resumed) or the cut is done. */
async function applyFault(step: FaultStep, infra: PrivateInfra, stack: ChaosStack, traffic: Traffic): Promise<void> {
  if (step.kind === 'cut') {
    traffic.proxies[step.target].cutAll();
    return;
  }
  if (step.kind === 'silence') {
    traffic.proxies[step.target].silenceAll();
    return;
  }
  const target = step.target;
  if (isServer(target)) {
    if (step.kind === 'kill') {
      await infra.kill(target);
      await sleep(step.holdMs);
      await infra.start(target);
    } else if (step.kind === 'pause') {
      await infra.pause(target, true);
      await sleep(step.holdMs);
      await infra.pause(target, false);
    } else {
      await infra.stop(target);
      await infra.start(target);
    }
    return;
  }
  const service: ServiceTarget = target;
  if (step.kind === 'kill') {
    await stack.kill(service);
    await sleep(step.holdMs);
    await stack.start(service);
  } else if (step.kind === 'pause') {
    stack.pause(service, true);
    await sleep(step.holdMs);
    stack.pause(service, false);
  } else {
    await stack.stop(service);
    await stack.start(service);
  }
}

/**
 * A whole chaos run: the run's own servers, every service as a process, SDK traffic, the fault schedule, then
 * the checker over everything the devices were acknowledged and shown. Everything started is stopped at the end.
 */
export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const log = options.log;
  const startedMs = Date.now();
  const infra = await startPrivateInfra(log);
  let stack: ChaosStack | undefined;
  let traffic: Traffic | undefined;
  try {
    log(`private servers up in ${Date.now() - startedMs} ms (state ${infra.stateDir})`);
    stack = await startChaosStack(infra.endpoints, log);
    traffic = await startTraffic(stack, { ...options, log });
    const trafficStartMs = Date.now();
    const t = traffic;
    const progress = setInterval(
      () => log(`sent ${t.sends.length}, acked ${t.acked}, shown ${t.deliveries.length}`),
      15_000,
    );
    const faults: Array<FaultWindow & { recovered: boolean }> = [];
    try {
      await waitUntil(() => t.acked >= options.warmUpAcks, 300_000);
      for (;;) {
        const step = options.nextFault({ acked: t.acked, elapsedMs: Date.now() - trafficStartMs });
        if (step === undefined) break;
        const label = describeStep(step);
        const startMs = Date.now();
        log(`fault: ${label}`);
        await applyFault(step, infra, stack, t);
        const endMs = Date.now();
        // Recovered: every send that was in flight at the end (from a device online then) has been answered,
        // and acknowledgements flow again.
        const pending = t.sends.filter((s) => s.sentAtMs <= endMs && s.ack === undefined && s.failedCode === undefined);
        const ackedAtEnd = t.acked;
        const recovered = await waitUntil(
          () => pending.every((s) => s.ack !== undefined || s.failedCode !== undefined) && t.acked >= ackedAtEnd + 10,
          options.recoveryTimeoutMs,
        );
        faults.push({ label, startMs, endMs, recovered });
        log(
          `${label}: back after ${endMs - startMs} ms; ${recovered ? `recovered in ${Date.now() - endMs} ms` : 'NOT recovered in time'}`,
        );
        await sleep(options.betweenFaultsMs);
      }
    } finally {
      clearInterval(progress);
    }
    log(`schedule done; draining`);
    const trafficEndMs = Date.now();
    await t.drain(options.settleTimeoutMs).catch((error: unknown) => log(`drain: ${(error as Error).message}`));
    // Every acknowledged message must reach every other member's device: wait until the checker finds nothing
    // missing (or the time is up, and the checker reports what is).
    const history = () => ({ chats: t.chats, devices: t.devices(), sends: t.sends, deliveries: t.deliveries, faults });
    await waitUntil(() => checkHistory({ ...history(), faults: [] }).lost.length === 0, options.settleTimeoutMs, 2_000);
    const report = checkHistory(history());
    const spanS = (trafficEndMs - trafficStartMs) / 1_000;
    return {
      report,
      faults,
      durationMs: Date.now() - startedMs,
      ackedPerSecond: Math.round((report.acknowledged / spanS) * 10) / 10,
      users: options.users,
      chats: t.chats.size,
      clientErrors: t.errors.slice(0, 50),
      logDir: stack.logDir,
    };
  } finally {
    await traffic?.close();
    await stack?.close();
    await infra.close();
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}

/** The run's figures in a few lines. */
export function summarize(result: ChaosRunResult): string {
  const r = result.report;
  const ms = (value: number | null): string => (value === null ? 'never' : `${(value / 1_000).toFixed(1)} s`);
  const lines = [
    `${result.users} devices, ${result.chats} chats, ${(result.durationMs / 1_000).toFixed(0)} s in all; ` +
      `${r.sends} sends, ${r.acknowledged} acknowledged (${result.ackedPerSecond}/s), ${r.failed} failed, ${r.unanswered} unanswered; ${r.delivered} shown`,
    `lost ${r.lost.length}, duplicated ${r.duplicates.length}, reordered ${r.reordered.length}, leaked ${r.leaked.length}, ack mismatches ${r.ackMismatches.length}`,
    'fault | down | first delivery | all devices delivering | in-flight acked (n)',
    ...r.recovery.map(
      (f, i) =>
        `${f.label} | ${ms(f.durationMs)} | ${ms(f.firstDeliveryMs)} | ${ms(f.allDevicesDeliveringMs)} | ${ms(f.inFlightAckedMs)} (${f.inFlightAtEnd})${result.faults[i]?.recovered === false ? ' | NOT RECOVERED' : ''}`,
    ),
  ];
  return lines.join('\n');
}
