/**
 * A running chatmesh for the SDK's gateway tests: ingest + fan-out + delivery-gateway in one service
 * group, either embedded (memory bus, store and presence; tokens from `POST /v1/dev/token`) or on the
 * real stack (Kafka, the schema registry, Cassandra in a fresh keyspace, Redis; tokens signed here with
 * an ES256 key served as a JWKS, as an identity provider would).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKafkaBus, createMemoryBus, createNamespacedBus, type Bus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
// Not declared in package.json: the gateway depends on @chatmesh/web-chat, which depends on this package,
// so declaring it would close a cycle that turbo refuses. The workspace links it at the root.
// Not declared in package.json on purpose: the gateway serves the chat page, which is built on this SDK, so
// declaring it would make the workspaces a cycle. Only this test harness imports it, at run time.
// eslint-disable-next-line import-x/no-extraneous-dependencies
import { createDeliveryGatewayService, type Gateway } from '@chatmesh/delivery-gateway';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import {
  createMemoryPresenceRegistry,
  createRedisPresenceRegistry,
  type PresenceRegistry,
} from '@chatmesh/presence-registry';
import { collectConfigSections, startServiceGroup, type ServiceGroup, silentObservability } from '@chatmesh/runtime';
import {
  createLocalCodec,
  createRegistryCodec,
  gatewayDeliveriesTopic,
  TOPICS,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { createMigratedCassandraStore, createMemoryStore, type ChatStore, type LogRetention } from '@chatmesh/store';
import { randomName, waitFor, type StackEndpoints } from '@chatmesh/testing';

export type { StackEndpoints };
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export interface ChatmeshSystem {
  /** `http://127.0.0.1:<port>` of the gateway (the SDK turns it into `ws://.../v1/ws`). */
  readonly url: string;
  readonly gateway: Gateway;
  /** The store the services share (tests read it to know when fan-out has written). */
  readonly store: ChatStore;
  /** A token for (user, device). */
  token(userId: string, deviceId: string): Promise<string>;
  close(): Promise<void>;
}

async function startJwks(): Promise<{
  url: string;
  sign: (userId: string, deviceId: string) => Promise<string>;
  server: Server;
}> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'sdk-test', alg: 'ES256', use: 'sig' };
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  const sign = (userId: string, deviceId: string): Promise<string> =>
    new SignJWT({ did: deviceId })
      .setProtectedHeader({ alg: 'ES256', kid: 'sdk-test' })
      .setSubject(userId)
      .setIssuer('chatmesh-dev')
      .setAudience('chatmesh')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  return { url, sign, server };
}

/** Starts ingest + fan-out + gateway; embedded without `stack`, else on the given servers. */
export async function startChatmeshSystem(
  options: {
    stack?: StackEndpoints;
    env?: Record<string, string>;
    /** The store's retention (tests pass seconds-long ones). @default the store's default */
    retention?: LogRetention;
    /** The memory store's clock (embedded only). */
    clock?: () => number;
  } = {},
): Promise<ChatmeshSystem> {
  const { stack } = options;
  let gateway: Gateway | undefined;
  const gatewayModule = createDeliveryGatewayService({ onStarted: (g) => (gateway = g), chatPage: async () => null });
  const modules = [ingestService, fanOutService, gatewayModule];
  const gatewayId = randomName('gw').replace(/[^A-Za-z0-9_-]/g, '-');
  const jwks = stack ? await startJwks() : undefined;
  const env: Record<string, string> = {
    CHATMESH_GATEWAY_ID: gatewayId,
    CHATMESH_GATEWAY_PORT: '0',
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_LOG_LEVEL: 'silent',
    ...(stack && jwks
      ? {
          CHATMESH_MODE: 'stack',
          KAFKA_BROKERS: stack.kafkaBrokers.join(','),
          CHATMESH_NAMESPACE: stack.namespace,
          SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
          CASSANDRA_CONTACT_POINTS: stack.cassandraContactPoints.join(','),
          CASSANDRA_LOCAL_DC: stack.cassandraLocalDc,
          CASSANDRA_KEYSPACE: stack.keyspace,
          REDIS_URL: stack.redisUrl,
          CHATMESH_AUTH_JWKS_URL: jwks.url,
        }
      : {}),
    ...options.env,
  };
  const config = loadConfig({ env, sections: collectConfigSections(modules) });
  let bus: Bus;
  let codec: SchemaCodec;
  let store: ChatStore;
  let presence: PresenceRegistry;
  if (stack) {
    store = await createMigratedCassandraStore({
      contactPoints: stack.cassandraContactPoints,
      localDataCenter: stack.cassandraLocalDc,
      keyspace: stack.keyspace,
      ...(options.retention === undefined ? {} : { retention: options.retention }),
    });
    bus = createNamespacedBus(
      createKafkaBus({ brokers: [...stack.kafkaBrokers], clientId: 'chatmesh-sdk-tests', logLevel: 'nothing' }),
      stack.namespace,
    );
    codec = createRegistryCodec({ url: stack.schemaRegistryUrl, clientId: 'chatmesh-sdk-tests' });
    presence = await createRedisPresenceRegistry({ url: stack.redisUrl });
  } else {
    bus = createMemoryBus();
    codec = createLocalCodec();
    store = createMemoryStore({
      ...(options.retention === undefined ? {} : { retention: options.retention }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    presence = createMemoryPresenceRegistry();
  }
  const startGroup = (): Promise<ServiceGroup> => {
    return startServiceGroup(modules, {
      config,
      ...silentObservability('sdk-tests'),
      bus,
      codec,
      store,
      presence,
    });
  };
  let group: ServiceGroup;
  try {
    if (stack) {
      // The three services share one bus here (one kafkajs admin). On a fresh broker, a second
      // createTopics through the same admin fails with UNKNOWN_TOPIC_OR_PARTITION (CM_ERR_BUS_UNKNOWN_TOPIC)
      // while the first call's topics are still propagating; separate processes never hit it. So every
      // topic is created in one call first, and the services find them there.
      await bus.admin.createTopics([...Object.values(TOPICS), gatewayDeliveriesTopic(gatewayId)]);
    }
    group = await startGroup();
    await waitFor(() => group.isReady(), {
      description: 'ingest, fan-out and gateway ready',
      timeoutMs: stack ? 120_000 : 30_000,
    });
  } catch (error) {
    await Promise.allSettled([bus.close(), store.close(), presence.close()]);
    jwks?.server.close();
    throw error;
  }
  const started = gateway!;
  const url = started.url;
  return {
    url,
    gateway: started,
    store,
    async token(userId, deviceId) {
      if (jwks) return jwks.sign(userId, deviceId);
      const response = await fetch(`${url}/v1/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId, deviceId }),
      });
      if (!response.ok) throw new Error(`POST /v1/dev/token answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { token: string }).token;
    },
    async close() {
      await group.stop();
      await Promise.allSettled([bus.close(), store.close(), presence.close()]);
      jwks?.server.close();
    },
  };
}
