/**
 * The presence storm benchmark: one watcher with `--contacts` contacts (1,000 by default), every contact's phone
 * flapping (online for a random 0.2-2 s, offline for a random 0.2-3 s, as a phone on a bad network) for
 * `--seconds`. The presence service runs in this process on the in-process bus, store and registry; the benchmark
 * counts the PresenceNotices routed to the watcher's device, per second, twice: with the calming off (offline at
 * once, no per-watcher bound: what presence did before) and with the defaults (a 5 s offline grace, at most 20
 * notices a second per watcher, bursts of 40, the rest coalesced per contact). After each run it checks that the
 * watcher comes to hold every contact's real final state, and how long after the storm that took (calming may
 * delay a notice, never lose one).
 *
 *   npm run bench:presence -w @chatmesh/load-tests -- --contacts 1000 --seconds 20
 *
 * See load-tests/README.md ("Presence storms").
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMemoryBus } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import { createPresenceService } from '@chatmesh/presence';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { collectConfigSections, createTypedProducer, silentObservability, startServiceGroup } from '@chatmesh/runtime';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  TOPICS,
  type GatewayDelivery,
  type PresenceEvent,
} from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import { readMachineInfo } from '../src/index.js';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    'results-dir': { type: 'string', default: join(import.meta.dirname, '..', 'results') },
    seed: { type: 'string', default: '7' },
  },
});
const contacts = Number(values.contacts);
const seconds = Number(values.seconds);
if (!Number.isInteger(contacts) || contacts < 1 || !(seconds > 0)) {
  throw new Error('--contacts must be a positive integer and --seconds a positive number');
}

/** A small deterministic generator, so both runs flap the same way. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

interface RunResult {
  readonly calming: string;
  readonly flaps: number;
  readonly transitionsPerSecond: number;
  readonly notices: number;
  readonly noticesPerSecond: number;
  readonly maxNoticesInOneSecond: number;
  readonly staleAtEnd: number;
  /** Seconds from the end of the storm until the watcher held every contact's real state; null: not within 180 s. */
  readonly convergedAfterS: number | null;
}

async function run(label: string, env: Record<string, string>): Promise<RunResult> {
  const bus = createMemoryBus({ retention: null });
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const registry = createMemoryPresenceRegistry();
  const service = createPresenceService();
  await bus.admin.createTopics([{ name: gatewayDeliveriesTopic('gw-w').name, partitions: 1 }]);
  const delivered = await collectRecords(bus, gatewayDeliveriesTopic('gw-w').name);
  const group = await startServiceGroup([service], {
    config: loadConfig({
      env: {
        CHATMESH_PRESENCE_MAX_SUBSCRIPTION_TARGETS: String(contacts),
        CHATMESH_PRESENCE_SWEEP_INTERVAL_MS: '1000',
        ...env,
      },
      sections: collectConfigSections([service]),
    }),
    ...silentObservability('bench-presence'),
    bus,
    codec,
    store,
    presence: registry,
  });
  await waitFor(() => group.isReady(), { description: 'presence ready', timeoutMs: 30_000 });
  const producer = createTypedProducer(bus, codec);
  const lease = async (gatewayId: string) =>
    registry.acquireGateway({ gatewayId, instanceId: `${gatewayId}-i`, ttlMs: 60_000 });
  await lease('gw-w');
  await lease('gw-c');
  // Renewed as gateways do (every third of the TTL): a lapsed lease would turn every device offline.
  const renewals = setInterval(() => void Promise.all([lease('gw-w'), lease('gw-c')]), 20_000);
  const event = (
    userId: string,
    deviceId: string,
    gatewayId: string,
    connectionId: string,
    change: PresenceEvent['change'],
  ) =>
    producer.send(TOPICS.presenceEvents.name, userId, {
      userId,
      deviceId,
      gatewayId,
      connectionId,
      atMs: Date.now(),
      change,
    });
  const names = Array.from({ length: contacts }, (_, i) => `contact-${i}`);
  for (const name of names) {
    for (const userId of ['watcher', name]) {
      await store.directory.addMember({
        chatId: `dm-${name}`,
        userId,
        role: 'member',
        joinedSeq: 1,
        removedSeq: null,
        addedBy: 'watcher',
      });
    }
  }
  await registry.registerDevice({
    userId: 'watcher',
    deviceId: 'phone',
    gatewayId: 'gw-w',
    connectionId: 'w1',
    gatewayInstanceId: 'gw-w-i',
    ttlMs: 600_000,
  });
  await event('watcher', 'phone', 'gw-w', 'w1', {
    'chatmesh.presence.DeviceStatusChange': { status: 'ONLINE', ttlMs: 60_000, lastSeenMs: null },
  });
  await event('watcher', 'phone', 'gw-w', 'w1', {
    'chatmesh.presence.PresenceSubscribe': { targetUserIds: names, replace: true },
  });
  await waitFor(() => delivered.length >= contacts, { description: 'the subscribe snapshot', timeoutMs: 60_000 });
  const snapshot = delivered.length;

  // Every contact flaps on its own schedule until the end.
  const next = random(Number(values.seed));
  const online = new Map<string, string | null>(names.map((n) => [n, null]));
  let flaps = 0;
  let transitions = 0;
  const endAt = Date.now() + seconds * 1000;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, fn: () => Promise<void>) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (Date.now() < endAt) void fn();
    }, ms);
    timers.add(timer);
  };
  const goOnline = async (name: string): Promise<void> => {
    const connectionId = `${name}-${flaps++}`;
    online.set(name, connectionId);
    transitions++;
    await registry.registerDevice({
      userId: name,
      deviceId: 'phone',
      gatewayId: 'gw-c',
      connectionId,
      gatewayInstanceId: 'gw-c-i',
      ttlMs: 600_000,
    });
    await event(name, 'phone', 'gw-c', connectionId, {
      'chatmesh.presence.DeviceStatusChange': { status: 'ONLINE', ttlMs: 60_000, lastSeenMs: null },
    });
    later(200 + next() * 1_800, () => goOffline(name));
  };
  const goOffline = async (name: string): Promise<void> => {
    const connectionId = online.get(name);
    if (!connectionId) return;
    online.set(name, null);
    transitions++;
    await registry.unregisterDevice({ userId: name, deviceId: 'phone', connectionId });
    await event(name, 'phone', 'gw-c', connectionId, {
      'chatmesh.presence.DeviceStatusChange': { status: 'OFFLINE', ttlMs: 60_000, lastSeenMs: Date.now() },
    });
    later(200 + next() * 2_800, () => goOnline(name));
  };
  const startedAt = Date.now();
  for (const name of names) later(next() * 1_000, () => goOnline(name));
  const perSecond: number[] = [];
  let seen = snapshot;
  while (Date.now() < endAt) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    perSecond.push(delivered.length - seen);
    seen = delivered.length;
  }
  for (const timer of timers) clearTimeout(timer);
  const elapsedS = (Date.now() - startedAt) / 1000;
  const during = delivered.length - snapshot;
  // Converge: once the storm stops, the watcher must come to hold every contact's real state (calming may delay a
  // notice, never lose one). Timed from the end of the storm.
  const stormEndedAt = Date.now();
  const lastState = new Map<string, boolean>();
  let decoded = 0;
  const staleNow = async (): Promise<number> => {
    for (; decoded < delivered.length; decoded++) {
      const delivery = (await codec.decode<GatewayDelivery>(delivered[decoded]!.value!)).value;
      if ('chatmesh.gateway.PresenceNotice' in delivery.payload) {
        const notice = delivery.payload['chatmesh.gateway.PresenceNotice'];
        lastState.set(notice.subjectUserId, notice.online);
      }
    }
    return names.filter((n) => (lastState.get(n) ?? false) !== (online.get(n) !== null)).length;
  };
  let staleAtEnd = await staleNow();
  while (staleAtEnd > 0 && Date.now() - stormEndedAt < 180_000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    staleAtEnd = await staleNow();
  }
  const convergedAfterS = staleAtEnd === 0 ? (Date.now() - stormEndedAt) / 1000 : null;
  clearInterval(renewals);
  await group.stop();
  await bus.close();
  const result: RunResult = {
    calming: label,
    flaps,
    transitionsPerSecond: Math.round(transitions / elapsedS),
    notices: during,
    noticesPerSecond: Math.round(during / elapsedS),
    maxNoticesInOneSecond: Math.max(0, ...perSecond),
    staleAtEnd,
    convergedAfterS,
  };
  console.log(
    `${label.padEnd(44)} transitions/s ${String(result.transitionsPerSecond).padStart(6)}  notices to the watcher/s ${String(result.noticesPerSecond).padStart(6)}  max in 1 s ${String(result.maxNoticesInOneSecond).padStart(6)}  all correct ${convergedAfterS === null ? `NOT within 180 s (${staleAtEnd} stale)` : `${convergedAfterS.toFixed(1)} s after the storm`}`,
  );
  return result;
}

console.log(`presence storm: 1 watcher, ${contacts} contacts flapping for ${seconds} s`);
const results = [
  await run('off (grace 0, unbounded): the old behaviour', {
    CHATMESH_PRESENCE_OFFLINE_GRACE_MS: '0',
    CHATMESH_PRESENCE_NOTICES_PER_WATCHER_PER_SECOND: '100000',
    CHATMESH_PRESENCE_NOTICES_PER_WATCHER_BURST: '100000',
  }),
  await run('defaults (grace 5 s, 20/s per watcher, burst 40)', {}),
];
mkdirSync(values['results-dir'], { recursive: true });
const file = join(values['results-dir'], `${new Date().toISOString().slice(0, 10)}-presence-storm.json`);
writeFileSync(file, `${JSON.stringify({ contacts, seconds, results, machine: readMachineInfo() }, null, 2)}\n`);
console.log(`result: ${file}`);
