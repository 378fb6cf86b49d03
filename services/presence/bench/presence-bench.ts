/**
 * Presence benchmark (not a test): presence updates/s (ONLINE/OFFLINE events handled, each user watched
 * by N devices sharing a chat with it) and typing relays/s, through the real service on the in-process
 * bus and store. Figures for the docs.
 *
 *   npm run bench -w @chatmesh/presence                          (embedded: memory registry and watch store)
 *   BENCH_REDIS=1 REDIS_URL=redis://... npm run bench -w @chatmesh/presence
 *                                                               (registry and watch store on Redis)
 *
 * Environment: BENCH_SUBJECTS (users going online/offline, default 500), BENCH_WATCHERS (watcher devices
 * per subject, default 10), BENCH_ROUNDS (online+offline rounds, default 4), BENCH_CHATS (typing chats,
 * default 500), BENCH_MEMBERS (members per typing chat, all online on 4 gateways, default 8),
 * BENCH_TYPING (typing records, default 20000).
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createMetricsRegistry } from '@chatmesh/metrics';
import {
  createMemoryPresenceRegistry,
  createRedisPresenceRegistry,
  type PresenceRegistry,
} from '@chatmesh/presence-registry';
import { collectConfigSections, createTypedProducer, startServiceGroup, silentObservability } from '@chatmesh/runtime';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  TOPICS,
  type EphemeralEvent,
  type PresenceEvent,
} from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { Redis } from 'ioredis';
import { createMemoryWatchStore, createPresenceService, createRedisWatchStore, type WatchStore } from '../src/index.js';

const SUBJECTS = Number(process.env['BENCH_SUBJECTS'] ?? 500);
const WATCHERS = Number(process.env['BENCH_WATCHERS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const CHATS = Number(process.env['BENCH_CHATS'] ?? 500);
const MEMBERS = Number(process.env['BENCH_MEMBERS'] ?? 8);
const TYPING = Number(process.env['BENCH_TYPING'] ?? 20_000);
const USE_REDIS = process.env['BENCH_REDIS'] === '1';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const GATEWAYS = ['bench-gw-0', 'bench-gw-1', 'bench-gw-2', 'bench-gw-3'];

const rate = (count: number, ms: number): string => `${Math.round((count / ms) * 1000).toLocaleString('en-US')}/s`;

async function waitUntil(condition: () => boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('bench: timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function main(): Promise<void> {
  const prefix = `bench-presence-${randomBytes(4).toString('hex')}`;
  let registry: PresenceRegistry;
  let watches: WatchStore;
  if (USE_REDIS) {
    registry = await createRedisPresenceRegistry({ url: REDIS_URL, keyPrefix: `${prefix}:registry:` });
    watches = await createRedisWatchStore({ url: REDIS_URL, keyPrefix: `${prefix}.watch` });
  } else {
    registry = createMemoryPresenceRegistry();
    watches = createMemoryWatchStore();
  }
  console.log(
    `presence bench (${USE_REDIS ? `registry + watch store on Redis ${REDIS_URL}` : 'embedded: memory registry and watch store'}, ` +
      `memory bus and store); node ${process.version}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB`,
  );
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const metrics = createMetricsRegistry({ collectDefaultMetrics: false });
  await bus.admin.createTopics(GATEWAYS.map((g) => ({ name: gatewayDeliveriesTopic(g).name, partitions: 4 })));
  const service = createPresenceService({ watchStore: watches });
  const group = await startServiceGroup([service], {
    config: loadConfig({
      env: {
        // The raw transition path: every change told at once (the calming is measured by load-tests' bench:presence).
        CHATMESH_PRESENCE_OFFLINE_GRACE_MS: '0',
        CHATMESH_PRESENCE_NOTICES_PER_WATCHER_BURST: '100000',
        CHATMESH_PRESENCE_TYPING_PER_MINUTE: '6000',
        CHATMESH_PRESENCE_TYPING_BURST: '1000',
        CHATMESH_PRESENCE_MEMBERSHIP_CACHE_MS: '5000',
      },
      sections: collectConfigSections([service]),
    }),
    ...silentObservability('bench'),
    bus,
    codec,
    store,
    presence: registry,
  });
  await waitUntil(() => group.isReady());
  const details = (): Record<string, unknown> => group.health()['presence']?.details ?? {};
  const counter = async (name: string): Promise<number> =>
    ((await metrics.getSingleMetric(name)?.get())?.values ?? []).reduce((sum, v) => sum + v.value, 0);
  const producer = createTypedProducer(bus, codec);
  const instances = new Map<string, string>();
  for (const g of GATEWAYS) {
    instances.set(g, `${g}-${prefix}`);
    await registry.acquireGateway({ gatewayId: g, instanceId: instances.get(g)!, ttlMs: 600_000 });
  }
  const device = (userId: string, i: number) => {
    const gatewayId = GATEWAYS[i % GATEWAYS.length]!;
    return { userId, deviceId: 'phone', gatewayId, connectionId: `${userId}-c`, instance: instances.get(gatewayId)! };
  };
  const event = (d: ReturnType<typeof device>, change: PresenceEvent['change']): PresenceEvent => ({
    userId: d.userId,
    deviceId: d.deviceId,
    gatewayId: d.gatewayId,
    connectionId: d.connectionId,
    atMs: Date.now(),
    change,
  });
  const status = (s: 'ONLINE' | 'OFFLINE'): PresenceEvent['change'] => ({
    'chatmesh.presence.DeviceStatusChange': { status: s, ttlMs: 30_000, lastSeenMs: null },
  });
  let produced = 0;
  try {
    // Setup: each subject shares a chat with its watchers; every watcher is online and subscribed.
    const subjects = Array.from({ length: SUBJECTS }, (_, i) => device(`subject-${i}`, i));
    for (const [s, subject] of subjects.entries()) {
      const watcherIds = Array.from({ length: WATCHERS }, (_, w) => `watcher-${s}-${w}`);
      for (const userId of [subject.userId, ...watcherIds]) {
        await store.directory.addMember({
          chatId: `chat-${s}`,
          userId,
          role: 'member',
          joinedSeq: 1,
          removedSeq: null,
          addedBy: subject.userId,
        });
      }
      for (const [w, userId] of watcherIds.entries()) {
        const d = device(userId, s + w);
        await registry.registerDevice({ ...d, gatewayInstanceId: d.instance, ttlMs: 600_000 });
        await producer.send(TOPICS.presenceEvents.name, userId, event(d, status('ONLINE')));
        await producer.send(
          TOPICS.presenceEvents.name,
          userId,
          event(d, { 'chatmesh.presence.PresenceSubscribe': { targetUserIds: [subject.userId], replace: true } }),
        );
        produced += 2;
      }
    }
    await waitUntil(() => details()['presenceEvents'] === produced);

    const noticesBefore = await counter('chatmesh_presence_notices_total');
    const started = performance.now();
    let updates = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Each phase is handled before the next one starts (a device must still be online when its ONLINE is handled).
      for (const subject of subjects) {
        await registry.registerDevice({ ...subject, gatewayInstanceId: subject.instance, ttlMs: 600_000 });
        await producer.send(TOPICS.presenceEvents.name, subject.userId, event(subject, status('ONLINE')));
      }
      produced += subjects.length;
      await waitUntil(() => details()['presenceEvents'] === produced);
      for (const subject of subjects) {
        await registry.unregisterDevice(subject);
        await producer.send(TOPICS.presenceEvents.name, subject.userId, event(subject, status('OFFLINE')));
      }
      produced += subjects.length;
      await waitUntil(() => details()['presenceEvents'] === produced);
      updates += 2 * subjects.length;
    }
    await waitUntil(() => details()['presenceEvents'] === produced);
    const updatesMs = performance.now() - started;
    const notices = (await counter('chatmesh_presence_notices_total')) - noticesBefore;
    console.log(
      `presence updates: ${updates.toLocaleString('en-US')} ONLINE/OFFLINE events (registry writes included), ` +
        `${WATCHERS} watchers each, in ${Math.round(updatesMs)} ms: ${rate(updates, updatesMs)} updates, ` +
        `${rate(notices, updatesMs)} notices (${notices.toLocaleString('en-US')} sent)`,
    );

    // Typing: chats of MEMBERS online members spread over the gateways.
    for (let c = 0; c < CHATS; c++) {
      for (let m = 0; m < MEMBERS; m++) {
        const userId = `typist-${c}-${m}`;
        await store.directory.addMember({
          chatId: `tchat-${c}`,
          userId,
          role: 'member',
          joinedSeq: 1,
          removedSeq: null,
          addedBy: `typist-${c}-0`,
        });
        const d = device(userId, c + m);
        await registry.registerDevice({ ...d, gatewayInstanceId: d.instance, ttlMs: 600_000 });
      }
    }
    const typingStarted = performance.now();
    for (let i = 0; i < TYPING; i++) {
      const c = i % CHATS;
      const m = Math.floor(i / CHATS) % MEMBERS;
      const d = device(`typist-${c}-${m}`, c + m);
      const record: EphemeralEvent = {
        chatId: `tchat-${c}`,
        userId: d.userId,
        deviceId: d.deviceId,
        gatewayId: d.gatewayId,
        atMs: Date.now(),
        signal: { typing: i % 2 === 0, ttlMs: 60_000 },
      };
      await producer.send(TOPICS.ephemeral.name, record.chatId, record);
    }
    await waitUntil(() => details()['typing'] === TYPING);
    const typingMs = performance.now() - typingStarted;
    const relayed = Number(details()['typingRelayed']);
    const deliveries = await counter('chatmesh_presence_typing_deliveries_total');
    console.log(
      `typing: ${TYPING.toLocaleString('en-US')} indicators in chats of ${MEMBERS} online members, in ${Math.round(typingMs)} ms: ` +
        `${rate(relayed, typingMs)} relays (${relayed.toLocaleString('en-US')} relayed), ${rate(deliveries, typingMs)} TypingNotice deliveries`,
    );
  } finally {
    await group.stop();
    await bus.close();
    await watches.close();
    await registry.close();
    if (USE_REDIS) {
      const admin = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await admin.del(...keys);
      } while (cursor !== '0');
      await admin.quit();
    }
  }
}

await main();
