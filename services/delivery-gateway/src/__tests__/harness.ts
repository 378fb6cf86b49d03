import { createMemoryBus, type Bus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { getConfigSection, loadConfig } from '@chatmesh/config';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry, type Registry } from '@chatmesh/metrics';
import { createMemoryPresenceRegistry, type PresenceRegistry } from '@chatmesh/presence-registry';
import type { ServerFrame } from '@chatmesh/protocol';
import { collectConfigSections, startServiceGroup, type ServiceGroup } from '@chatmesh/runtime';
import { createLocalCodec, type SchemaCodec } from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import WebSocket from 'ws';
import {
  createDeliveryGatewayService,
  DEFAULT_DEV_SECRET,
  GATEWAY_CONFIG,
  signDevToken,
  type ChatPageAssets,
  type Gateway,
} from '../index.js';

/** An embedded chatmesh: ingest + fan-out + gateway on the memory bus, store and presence registry. */
export interface Harness {
  readonly gateway: Gateway;
  readonly group: ServiceGroup;
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
  readonly registry: Registry;
  readonly gatewayId: string;
  /** `ws://.../v1/ws`. */
  readonly wsUrl: string;
  token(userId: string, deviceId: string): Promise<string>;
  connect(userId: string, deviceId: string): Promise<TestClient>;
  /** Records appended to a topic from now on (a collector group). */
  collect(topic: string): Promise<BusRecord[]>;
  /** The value of a metric series (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Starts a harness; `env` adds or overrides variables (the gateway binds to port 0). */
export async function startHarness(
  options: {
    env?: Record<string, string>;
    store?: ChatStore;
    withCore?: boolean;
    realChatPage?: boolean;
    /** The chat page's assets (overrides realChatPage). */
    chatPage?: () => Promise<ChatPageAssets | null>;
    /** Receives every log line (JSON, level info and up); without it nothing is logged. */
    logLines?: string[];
  } = {},
): Promise<Harness> {
  const gatewayId = randomName('gw').replace(/[^A-Za-z0-9_-]/g, '-');
  const modules = [...(options.withCore === false ? [] : [ingestService, fanOutService])];
  let gateway: Gateway | undefined;
  const gatewayModule = createDeliveryGatewayService({
    onStarted: (g) => (gateway = g),
    ...(options.chatPage ? { chatPage: options.chatPage } : options.realChatPage ? {} : { chatPage: async () => null }),
  });
  const all = [...modules, gatewayModule];
  const config = loadConfig({
    env: {
      CHATMESH_GATEWAY_ID: gatewayId,
      CHATMESH_GATEWAY_PORT: '0',
      CHATMESH_LOG_LEVEL: 'silent',
      ...options.env,
    },
    sections: collectConfigSections(all),
  });
  const settings = getConfigSection(config, 'gateway', GATEWAY_CONFIG);
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = options.store ?? createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const group = await startServiceGroup(all, {
    config,
    logger:
      options.logLines === undefined
        ? createLogger({ service: 'test', level: 'silent' })
        : createLogger({
            service: 'test',
            level: 'info',
            destination: { write: (line: string) => void options.logLines!.push(line) },
          }),
    registry,
    metrics: createChatmeshMetrics(registry),
    bus,
    codec,
    store,
    presence,
  });
  await waitFor(() => group.isReady(), { description: 'every service ready', timeoutMs: 20_000 });
  const started = gateway!;
  const wsUrl = `${started.url.replace(/^http/, 'ws')}/v1/ws`;
  const clients: TestClient[] = [];
  const token = async (userId: string, deviceId: string): Promise<string> =>
    (
      await signDevToken({
        userId,
        deviceId,
        issuer: settings.authIssuer,
        audience: settings.authAudience,
        devSecret: DEFAULT_DEV_SECRET,
      })
    ).token;
  return {
    gateway: started,
    group,
    bus,
    codec,
    store,
    presence,
    registry,
    gatewayId,
    wsUrl,
    token,
    async connect(userId, deviceId) {
      const client = await TestClient.open(wsUrl, await token(userId, deviceId));
      clients.push(client);
      return client;
    },
    collect: (topic) => collectRecords(bus, topic, { fromBeginning: false }),
    async metric(name, labels = {}) {
      const metric = registry.getSingleMetric(name);
      if (!metric) return 0;
      const values = (await metric.get()).values;
      const found = values.find((v) =>
        Object.entries(labels).every(([k, value]) => String((v.labels as Record<string, unknown>)[k]) === value),
      );
      return found?.value ?? 0;
    },
    async close() {
      for (const client of clients) client.terminate();
      await group.stop();
      await bus.close();
    },
  };
}

/** A frame the client received, as parsed JSON. */
export type ReceivedFrame = ServerFrame & Record<string, unknown>;

/** A `ws` client that records every frame and its close. */
export class TestClient {
  readonly frames: ReceivedFrame[] = [];
  closeEvent: { code: number; reason: string } | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString('utf8')) as ReceivedFrame);
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeEvent = { code, reason: reason.toString() };
        resolve(this.closeEvent);
      });
    });
    ws.on('error', () => {});
  }

  /** Connects with a bearer token (header) and resolves once open. */
  static async open(url: string, token: string): Promise<TestClient> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for the first frame (from `from` on) matching `predicate`. */
  async waitForFrame(
    predicate: (frame: ReceivedFrame) => boolean,
    description: string,
    timeoutMs = 10_000,
  ): Promise<ReceivedFrame> {
    return waitFor(() => this.frames.find(predicate), { description, timeoutMs, intervalMs: 10 });
  }

  /** The frames of a type, in arrival order. */
  ofType(type: string): ReceivedFrame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  /** The inboxSeq of every inbox frame (newAttachment excluded: it repeats its message's). */
  inboxSeqs(): number[] {
    return this.frames
      .filter((f) => typeof f['inboxSeq'] === 'number' && f.type !== 'newAttachment')
      .map((f) => f['inboxSeq'] as number);
  }

  async close(): Promise<void> {
    if (this.closeEvent) return;
    this.ws.close(1000);
    await this.closed;
  }

  terminate(): void {
    if (!this.closeEvent) this.ws.terminate();
  }
}

/** Tries an upgrade and returns the refusal (status and JSON body), or `opened` when it succeeded. */
export async function tryUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { code?: string; message?: string } } | 'opened'> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      resolve('opened');
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') });
        ws.terminate();
      });
    });
    ws.once('error', reject);
  });
}
