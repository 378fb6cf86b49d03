import { createMemoryBus, type Bus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import type { Registry } from '@chatmesh/metrics';
import { createMemoryPresenceRegistry, type PresenceRegistry } from '@chatmesh/presence-registry';
import {
  collectConfigSections,
  createTypedProducer,
  startServiceGroup,
  type ServiceGroup,
  silentObservability,
} from '@chatmesh/runtime';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  TOPICS,
  type EphemeralEvent,
  type GatewayDelivery,
  type PresenceEvent,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import { createPresenceService, type WatchStore } from '../../index.js';

/** A device as the tests drive it: its gateway and connection. */
export interface TestDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly gatewayId: string;
  readonly connectionId: string;
}

export interface PresenceHarness {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  readonly store: ChatStore;
  readonly registry: PresenceRegistry;
  readonly metrics: Registry;
  readonly group: ServiceGroup;
  /** The one clock of the registry and the service; {@link advance} moves it. */
  now(): number;
  advance(ms: number): void;
  /** Makes the users current members of a chat (as ingest would have). */
  chat(chatId: string, userIds: readonly string[]): Promise<void>;
  /** Takes the lease of a gateway instance (TTL `leaseTtlMs`). */
  lease(gatewayId: string, instanceId?: string): Promise<void>;
  /** Registers the device in the registry (bound to its gateway's lease) and produces ONLINE, as a gateway does. */
  connect(device: TestDevice): Promise<void>;
  /** Unregisters it and produces OFFLINE. */
  disconnect(device: TestDevice): Promise<void>;
  presenceEvent(device: TestDevice, change: PresenceEvent['change']): Promise<void>;
  typing(
    device: TestDevice,
    chatId: string,
    typing: boolean,
    options?: { atMs?: number; ttlMs?: number },
  ): Promise<void>;
  /** Waits until every record produced so far was handled and every delivery was collected. */
  settle(): Promise<void>;
  /** The decoded deliveries a gateway received so far, in order. */
  deliveries(gatewayId: string): Promise<GatewayDelivery[]>;
  close(): Promise<void>;
}

export const LEASE_TTL_MS = 1_000;

export async function startPresenceHarness(
  options: { env?: Record<string, string>; gateways?: readonly string[]; watchStore?: WatchStore } = {},
): Promise<PresenceHarness> {
  let nowMs = 1_700_000_000_000;
  const clock = (): number => nowMs;
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const registry = createMemoryPresenceRegistry({ clock });
  const observability = silentObservability('test');
  const gateways = options.gateways ?? ['gw-1', 'gw-2'];
  await bus.admin.createTopics(gateways.map((g) => ({ name: gatewayDeliveriesTopic(g).name, partitions: 1 })));
  const collected = new Map<string, BusRecord[]>();
  for (const g of gateways) collected.set(g, await collectRecords(bus, gatewayDeliveriesTopic(g).name));
  const service = createPresenceService({ clock, ...(options.watchStore ? { watchStore: options.watchStore } : {}) });
  const group = await startServiceGroup([service], {
    config: loadConfig({
      env: {
        CHATMESH_PRESENCE_SWEEP_INTERVAL_MS: '20',
        CHATMESH_PRESENCE_MEMBERSHIP_CACHE_MS: '0',
        // Transitions at once and unbounded unless a test turns the calming on (presence-calm.test.ts).
        CHATMESH_PRESENCE_OFFLINE_GRACE_MS: '0',
        CHATMESH_PRESENCE_NOTICES_PER_WATCHER_BURST: '100000',
        ...options.env,
      },
      sections: collectConfigSections([service]),
    }),
    ...observability,
    bus,
    codec,
    store,
    presence: registry,
  });
  await waitFor(() => group.isReady(), { description: 'presence ready' });
  const producer = createTypedProducer(bus, codec);
  let producedEvents = 0;
  let producedTyping = 0;
  const instances = new Map<string, string>();
  const details = (): Record<string, unknown> => group.health()['presence']?.details ?? {};

  const harness: PresenceHarness = {
    bus,
    codec,
    store,
    registry,
    metrics: observability.registry,
    group,
    now: clock,
    advance(ms) {
      nowMs += ms;
    },
    async chat(chatId, userIds) {
      for (const userId of userIds) {
        await store.directory.addMember({
          chatId,
          userId,
          role: 'member',
          joinedSeq: 1,
          removedSeq: null,
          addedBy: userIds[0]!,
        });
      }
    },
    async lease(gatewayId, instanceId = `${gatewayId}-instance`) {
      instances.set(gatewayId, instanceId);
      await registry.acquireGateway({ gatewayId, instanceId, ttlMs: LEASE_TTL_MS });
    },
    async connect(device) {
      if (!instances.has(device.gatewayId)) await harness.lease(device.gatewayId);
      await registry.registerDevice({
        ...device,
        gatewayInstanceId: instances.get(device.gatewayId)!,
        ttlMs: 600_000,
      });
      await harness.presenceEvent(device, {
        'chatmesh.presence.DeviceStatusChange': { status: 'ONLINE', ttlMs: LEASE_TTL_MS, lastSeenMs: null },
      });
    },
    async disconnect(device) {
      await registry.unregisterDevice(device);
      await harness.presenceEvent(device, {
        'chatmesh.presence.DeviceStatusChange': { status: 'OFFLINE', ttlMs: LEASE_TTL_MS, lastSeenMs: clock() },
      });
    },
    async presenceEvent(device, change) {
      const event: PresenceEvent = { ...device, atMs: clock(), change };
      await producer.send(TOPICS.presenceEvents.name, device.userId, event);
      producedEvents++;
    },
    async typing(device, chatId, typing, typingOptions = {}) {
      const event: EphemeralEvent = {
        chatId,
        userId: device.userId,
        deviceId: device.deviceId,
        gatewayId: device.gatewayId,
        atMs: typingOptions.atMs ?? clock(),
        signal: { typing, ttlMs: typingOptions.ttlMs ?? 5_000 },
      };
      await producer.send(TOPICS.ephemeral.name, chatId, event);
      producedTyping++;
    },
    async settle() {
      await waitFor(() => details()['presenceEvents'] === producedEvents && details()['typing'] === producedTyping, {
        description: `presence handled ${producedEvents} events and ${producedTyping} typing records`,
      });
      for (const [gatewayId, records] of collected) {
        const offsets = await bus.admin.fetchTopicOffsets(gatewayDeliveriesTopic(gatewayId).name);
        const total = offsets.reduce((sum, o) => sum + Number(o.high), 0);
        await waitFor(() => records.length === total, { description: `${total} deliveries collected on ${gatewayId}` });
      }
    },
    async deliveries(gatewayId) {
      const records = collected.get(gatewayId) ?? [];
      return Promise.all(records.map(async (r) => (await codec.decode<GatewayDelivery>(r.value!)).value));
    },
    async close() {
      await group.stop();
      await bus.close();
      await registry.close();
    },
  };
  return harness;
}

/** The PresenceNotices among deliveries, as `{to, subject, online, lastSeenMs}`. */
export function notices(deliveries: readonly GatewayDelivery[]): Array<{
  to: string;
  device: string | null;
  subject: string;
  online: boolean;
  lastSeenMs: number | null;
}> {
  return deliveries.flatMap((d) =>
    'chatmesh.gateway.PresenceNotice' in d.payload
      ? [
          {
            to: d.userId,
            device: d.deviceId,
            subject: d.payload['chatmesh.gateway.PresenceNotice'].subjectUserId,
            online: d.payload['chatmesh.gateway.PresenceNotice'].online,
            lastSeenMs: d.payload['chatmesh.gateway.PresenceNotice'].lastSeenMs,
          },
        ]
      : [],
  );
}

export function device(userId: string, deviceId = 'phone', gatewayId = 'gw-1', connectionId?: string): TestDevice {
  return { userId, deviceId, gatewayId, connectionId: connectionId ?? `${userId}-${deviceId}-c1` };
}
