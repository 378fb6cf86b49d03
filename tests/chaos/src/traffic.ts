import { WebSocket } from 'ws';
import { createChatClient, type ChatClient, type ClientError } from '@chatmesh/client';
import { startLoopbackProxy, waitFor, type LoopbackProxy } from '@chatmesh/testing';
import type { DeliveryRecord, DeviceRecord, SendRecord } from './checker.js';
import type { GatewayTarget } from './schedule.js';

/** Options of {@link startTraffic}. */
export interface TrafficOptions {
  /** Users, one device each, alternately on gateway a and b. */
  readonly users: number;
  /** Messages per second over all users (each user sends about `ratePerSecond / users`). */
  readonly ratePerSecond: number;
  /** Sends one device may have unanswered; a device at the cap waits (the outbox still holds them all). */
  readonly inFlightPerDevice: number;
  /** A device goes offline (its network gone: the socket dropped, reconnects refused) about this often. */
  readonly offlineEveryMs: number;
  /** For this long. */
  readonly offlineForMs: number;
  readonly random: () => number;
  readonly log: (line: string) => void;
}

/** The SDK devices of a chaos run, their chats, and what each was acknowledged and shown. */
export interface Traffic {
  readonly proxies: Readonly<Record<GatewayTarget, LoopbackProxy>>;
  readonly chats: ReadonlyMap<string, readonly string[]>;
  readonly sends: readonly SendRecord[];
  readonly deliveries: readonly DeliveryRecord[];
  devices(): DeviceRecord[];
  /** Acknowledged sends so far. */
  readonly acked: number;
  /** Client errors other than token refreshes, as `code: message` (the SDK's own `gap` timeouts among them). */
  readonly errors: readonly string[];
  /** Stops sending and taking devices offline, brings every device back, waits until no send is unanswered. */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

interface Device {
  readonly userId: string;
  readonly deviceId: string;
  readonly gateway: GatewayTarget;
  readonly client: ChatClient;
  readonly sockets: WebSocket[];
  readonly offline: Array<{ startMs: number; endMs: number }>;
  isOffline: boolean;
  inFlight: number;
  sent: number;
}

const DEVICE_ID = 'phone';

/**
 * Starts the devices (each on a proxy in front of its gateway, so the network between them can be cut or
 * silenced), creates the chats (a direct chat for each user with the next two users, on both gateways, and a
 * group of three to six members for every other user: groups of five and more are broadcast chats), then
 * sends steadily until {@link Traffic.drain}.
 */
export async function startTraffic(
  stack: {
    readonly gatewayUrls: Readonly<Record<GatewayTarget, string>>;
    token(userId: string, deviceId: string): Promise<string>;
  },
  options: TrafficOptions,
): Promise<Traffic> {
  const proxies: Record<GatewayTarget, LoopbackProxy> = {
    'gateway-a': await startLoopbackProxy(stack.gatewayUrls['gateway-a']),
    'gateway-b': await startLoopbackProxy(stack.gatewayUrls['gateway-b']),
  };
  const run = `c${Date.now().toString(36)}`;
  const sends: SendRecord[] = [];
  const deliveries: DeliveryRecord[] = [];
  const errors: string[] = [];
  const chats = new Map<string, readonly string[]>();
  let acked = 0;
  let sending = true;

  const open = (index: number): Device => {
    const userId = `${run}-u${index}`;
    const gateway: GatewayTarget = index % 2 === 0 ? 'gateway-a' : 'gateway-b';
    const sockets: WebSocket[] = [];
    const device: Device = {
      userId,
      deviceId: DEVICE_ID,
      gateway,
      sockets,
      offline: [],
      isOffline: false,
      inFlight: 0,
      sent: 0,
      client: createChatClient({
        url: proxies[gateway].url,
        deviceId: DEVICE_ID,
        tokenProvider: ({ deviceId }) => stack.token(userId, deviceId ?? DEVICE_ID),
        webSocketFactory: (url) => {
          // Offline: the network refuses every connection until the device is back.
          const socket = new WebSocket(device.isOffline ? 'ws://127.0.0.1:9/v1/ws' : url);
          socket.on('error', () => undefined);
          sockets.push(socket);
          if (sockets.length > 4) sockets.shift();
          return socket;
        },
        // Outages here last up to a minute (a Cassandra restart): keep retrying, and come back quickly.
        backoff: { initialDelayMs: 100, maxDelayMs: 2_000 },
        maxCommandAttempts: 10_000,
      }),
    };
    device.client.on('messageReceived', (frame) =>
      deliveries.push({
        userId,
        deviceId: DEVICE_ID,
        chatId: frame.chatId,
        seq: frame.seq,
        clientMessageId: frame.clientMessageId,
        senderUserId: frame.by.userId,
        atMs: Date.now(),
      }),
    );
    device.client.on('error', (error: ClientError) => {
      if (error.code !== 'CM_ERR_CLIENT_TOKEN_FAILED' && errors.length < 1_000)
        errors.push(`${userId}: ${error.code}: ${error.message}`);
    });
    return device;
  };

  const devices = Array.from({ length: options.users }, (_, i) => open(i));
  await Promise.all(devices.map((d) => d.client.connected()));
  const chatsOf = new Map<string, string[]>(devices.map((d) => [d.userId, []]));
  const addChat = (chatId: string, members: readonly string[]): void => {
    chats.set(chatId, members);
    for (const m of members) chatsOf.get(m)?.push(chatId);
  };
  const pairs = new Set<string>();
  for (let i = 0; i < devices.length; i++) {
    const me = devices[i]!;
    for (const step of [1, 2]) {
      const other = devices[(i + step) % devices.length]!;
      const pair = [me.userId, other.userId].sort().join(' ');
      if (other === me || pairs.has(pair)) continue;
      pairs.add(pair);
      const { chatId } = await me.client.createDirectChat(other.userId);
      addChat(chatId, [me.userId, other.userId]);
    }
    if (i % 2 === 0) {
      const size = 3 + Math.floor(options.random() * 4);
      const members = Array.from(
        { length: size - 1 },
        (_, k) => devices[(i + 1 + k * 3) % devices.length]!.userId,
      ).filter((m, k, all) => m !== me.userId && all.indexOf(m) === k);
      const group = await me.client.createGroup(`chaos ${i}`, members);
      addChat(group.chatId, [me.userId, ...members]);
    }
  }
  options.log(`${devices.length} devices, ${chats.size} chats`);

  const sendOne = (device: Device): void => {
    const mine = chatsOf.get(device.userId) ?? [];
    const chatId = mine[Math.floor(options.random() * mine.length)];
    if (chatId === undefined) return;
    const clientMessageId = `${device.userId}-m${device.sent++}`;
    const record: { -readonly [K in keyof SendRecord]: SendRecord[K] } = {
      senderUserId: device.userId,
      senderDeviceId: device.deviceId,
      chatId,
      clientMessageId,
      sentAtMs: Date.now(),
    };
    sends.push(record);
    device.inFlight += 1;
    device.client
      .send(chatId, { body: clientMessageId }, { clientMessageId })
      .then(
        (ack) => {
          record.ack = { seq: ack.seq, atMs: Date.now() };
          acked += 1;
        },
        (error: ClientError) => {
          record.failedCode = error.code;
          if (errors.length < 1_000)
            errors.push(`${device.userId} send ${clientMessageId}: ${error.code}: ${error.message}`);
        },
      )
      .finally(() => {
        device.inFlight -= 1;
      });
  };

  // Steady traffic: every tick, each device sends its share (fractional shares carried over).
  const tickMs = 100;
  const perDevicePerTick = (options.ratePerSecond * tickMs) / 1_000 / devices.length;
  const credit = new Map<Device, number>();
  const sender = setInterval(() => {
    if (!sending) return;
    for (const device of devices) {
      let c = (credit.get(device) ?? 0) + perDevicePerTick;
      while (c >= 1 && device.inFlight < options.inFlightPerDevice) {
        sendOne(device);
        c -= 1;
      }
      credit.set(device, Math.min(c, 1));
    }
  }, tickMs);

  const goOffline = (device: Device): void => {
    device.isOffline = true;
    const window = { startMs: Date.now(), endMs: Number.POSITIVE_INFINITY };
    device.offline.push(window);
    for (const socket of device.sockets) if (socket.readyState === WebSocket.OPEN) socket.terminate();
    setTimeout(() => comeBack(device), options.offlineForMs).unref();
  };
  const comeBack = (device: Device): void => {
    if (!device.isOffline) return;
    device.isOffline = false;
    const window = device.offline.at(-1);
    if (window) window.endMs = Date.now();
  };
  const offliner = setInterval(() => {
    if (!sending) return;
    const candidates = devices.filter((d) => !d.isOffline);
    const victim = candidates[Math.floor(options.random() * candidates.length)];
    if (victim) goOffline(victim);
  }, options.offlineEveryMs);

  return {
    proxies,
    chats,
    sends,
    deliveries,
    devices: () =>
      devices.map((d) => ({ userId: d.userId, deviceId: d.deviceId, offline: d.offline.map((w) => ({ ...w })) })),
    get acked() {
      return acked;
    },
    errors,
    async drain(timeoutMs) {
      sending = false;
      clearInterval(sender);
      clearInterval(offliner);
      for (const device of devices) comeBack(device);
      await waitFor(() => devices.every((d) => d.inFlight === 0), {
        description: `every send answered (${devices.reduce((n, d) => n + d.inFlight, 0)} unanswered)`,
        timeoutMs,
        intervalMs: 500,
      });
    },
    async close() {
      sending = false;
      clearInterval(sender);
      clearInterval(offliner);
      await Promise.allSettled(devices.map((d) => d.client.close()));
      await Promise.allSettled([proxies['gateway-a'].close(), proxies['gateway-b'].close()]);
    },
  };
}
