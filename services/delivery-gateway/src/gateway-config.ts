import { defineConfigSection, defineOptionalVariable, defineVariable, parsers } from '@chatmesh/config';
import { z } from 'zod';

/** A claim value such as an issuer or audience: 1-512 printable characters. */
const claimValue = (): z.ZodType<string, string> => z.string().regex(/^[\x21-\x7e]{1,512}$/);

/** The development signing secret of embedded mode; stack mode never accepts it. */
export const DEFAULT_DEV_SECRET = 'chatmesh-embedded-development-secret-do-not-use-in-production';

/** Whether a bind address reaches this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Whether embedded mode serves `POST /v1/dev/token` (CHATMESH_GATEWAY_DEV_TOKENS with the bind address). */
export function devTokensEnabled(mode: 'embedded' | 'stack', setting: string, host: string): boolean {
  if (mode !== 'embedded' || setting === 'off') return false;
  return setting === 'on' || isLoopbackHost(host);
}

/** The gateway's own settings, under `config.sections.gateway`. */
export const GATEWAY_CONFIG = defineConfigSection({
  description: 'delivery-gateway: the WebSocket and HTTP API server (uWebSockets.js) and token checks',
  variables: {
    host: defineVariable({
      env: 'CHATMESH_GATEWAY_HOST',
      description: 'Interface the gateway (WebSocket `/v1/ws` and HTTP API) binds to. Containers set `0.0.0.0`.',
      schema: parsers.host(),
      noun: 'host',
      expected: 'a host name or IP address',
      default: '127.0.0.1',
    }),
    devTokens: defineVariable({
      env: 'CHATMESH_GATEWAY_DEV_TOKENS',
      description:
        "Embedded mode's development token endpoint (`POST /v1/dev/token`), which signs a token for ANY user id without a password (for trying chatmesh out, never for production). `auto` serves it only while the gateway listens on a loopback address (`CHATMESH_GATEWAY_HOST` 127.0.0.0/8, ::1 or localhost); `on` serves it on any address (a shared test network, at your own risk); `off` never. Stack mode never serves it.",
      schema: parsers.oneOf(['auto', 'on', 'off']),
      noun: 'switch',
      expected: 'auto, on or off',
      default: 'auto',
    }),
    port: defineVariable({
      env: 'CHATMESH_GATEWAY_PORT',
      description: 'Port of the gateway. `0` lets the OS pick a free port (tests); the chosen URL is logged.',
      schema: parsers.port(),
      noun: 'port',
      expected: 'an integer 0-65535',
      default: 8090,
    }),
    maxFrameBytes: defineVariable({
      env: 'CHATMESH_GATEWAY_MAX_FRAME_BYTES',
      description:
        'Largest client frame accepted; a bigger one closes the connection with 1009 (past twice this size uWebSockets.js drops the socket without a close frame). Leaves room for a message with 1 MiB of base64 ciphertext.',
      schema: parsers.integer(1024, 64 * 1024 * 1024),
      noun: 'size',
      expected: 'an integer number of bytes, 1024-67108864',
      default: 2 * 1024 * 1024,
    }),
    maxBackpressureBytes: defineVariable({
      env: 'CHATMESH_GATEWAY_MAX_BACKPRESSURE_BYTES',
      description:
        'Bytes the gateway buffers for one slow client; past it the client is closed with 4008 (SLOW_CONSUMER) and resumes from its cursor.',
      schema: parsers.integer(1024, 256 * 1024 * 1024),
      noun: 'size',
      expected: 'an integer number of bytes, 1024-268435456',
      default: 1024 * 1024,
    }),
    broadcastJoinWaitMs: defineVariable({
      env: 'CHATMESH_GATEWAY_BROADCAST_JOIN_WAIT_MS',
      description:
        "How long a device joining a broadcast chat (a big group) waits for this gateway's `chat.broadcast` consumer to reach the chat log's head before it subscribes anyway (it may then see a message twice; the SDK drops it by chat seq).",
      schema: parsers.integer(0, 600_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 0-600000',
      default: 5_000,
    }),
    chatAckFlushMs: defineVariable({
      env: 'CHATMESH_GATEWAY_CHAT_ACK_FLUSH_MS',
      description:
        "How often a device's acked positions in broadcast chats (`ack.chats`) are stored and reported DELIVERED: the highest per device and chat in each interval, and at once when the socket closes. A crash of the gateway loses at most this much of the positions (the device is sent those frames again and drops them). 0 stores every ack.",
      schema: parsers.integer(0, 60_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 0-60000',
      default: 1_000,
    }),
    idleTimeoutSeconds: defineVariable({
      env: 'CHATMESH_GATEWAY_IDLE_TIMEOUT_SECONDS',
      description:
        'A connection with no traffic for this long is closed; the gateway pings idle clients automatically before that, so a live client always answers in time. This bounds how long a client whose network vanished (half-open TCP, no FIN) stays connected and online for its peers: at most this plus about 4 s (docs/reliability.md).',
      schema: parsers.integer(8, 960),
      noun: 'duration',
      expected: 'an integer number of seconds, 8-960 (uWebSockets.js granularity is about 4 s)',
      default: 20,
    }),
    connectionRatePerSecond: defineVariable({
      env: 'CHATMESH_GATEWAY_CONNECTION_RATE_PER_SECOND',
      description: 'Sustained frames per second one connection may send (token bucket refill).',
      schema: parsers.integer(1, 100_000),
      noun: 'rate',
      expected: 'an integer 1-100000',
      default: 30,
    }),
    connectionBurst: defineVariable({
      env: 'CHATMESH_GATEWAY_CONNECTION_BURST',
      description: 'Frames one connection may send at once (token bucket size).',
      schema: parsers.integer(1, 1_000_000),
      noun: 'burst',
      expected: 'an integer 1-1000000',
      default: 60,
    }),
    userRatePerSecond: defineVariable({
      env: 'CHATMESH_GATEWAY_USER_RATE_PER_SECOND',
      description:
        'Sustained frames per second one user may send over all their devices and gateways (shared through Redis in stack mode).',
      schema: parsers.integer(1, 100_000),
      noun: 'rate',
      expected: 'an integer 1-100000',
      default: 60,
    }),
    userBurst: defineVariable({
      env: 'CHATMESH_GATEWAY_USER_BURST',
      description: 'Frames one user may send at once over all their devices (token bucket size).',
      schema: parsers.integer(1, 1_000_000),
      noun: 'burst',
      expected: 'an integer 1-1000000',
      default: 120,
    }),
    typingBurst: defineVariable({
      env: 'CHATMESH_GATEWAY_TYPING_BURST',
      description:
        'Typing frames one connection may send at once (its own small token bucket, on top of the frame limits); excess ones get an `error` frame CM_ERR_PROTOCOL_RATE_LIMITED and produce nothing.',
      schema: parsers.integer(1, 1_000),
      noun: 'burst',
      expected: 'an integer 1-1000',
      default: 5,
    }),
    typingPerMinute: defineVariable({
      env: 'CHATMESH_GATEWAY_TYPING_PER_MINUTE',
      description:
        'Sustained typing frames per minute one connection may send (the SDK sends about 20: a refresh every 3 s while typing, and a stop).',
      schema: parsers.integer(1, 60_000),
      noun: 'rate',
      expected: 'an integer 1-60000',
      default: 40,
    }),
    maxViolationsPerMinute: defineVariable({
      env: 'CHATMESH_GATEWAY_MAX_VIOLATIONS_PER_MINUTE',
      description:
        'Refused frames (bad or rate limited) one connection may send in a minute; one more closes it with 4009 (POLICY).',
      schema: parsers.integer(1, 100_000),
      noun: 'count',
      expected: 'an integer 1-100000',
      default: 30,
    }),
    leaseTtlMs: defineVariable({
      env: 'CHATMESH_GATEWAY_LEASE_TTL_MS',
      description:
        "Time to live of the gateway's presence lease (renewed every third of it): if the process dies, its devices go offline after this.",
      schema: parsers.integer(1_000, 600_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 1000-600000',
      default: 30_000,
    }),
    drainRetryAfterMs: defineVariable({
      env: 'CHATMESH_GATEWAY_DRAIN_RETRY_AFTER_MS',
      description: 'The delay a draining gateway tells clients to wait (plus their own jitter) before reconnecting.',
      schema: parsers.integer(0, 600_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 0-600000',
      default: 1_000,
    }),
    authIssuer: defineVariable({
      env: 'CHATMESH_AUTH_ISSUER',
      description: 'Required `iss` of client tokens (and the issuer of development tokens in embedded mode).',
      schema: claimValue(),
      noun: 'issuer',
      expected: '1-512 printable ASCII characters without spaces',
      default: 'chatmesh-dev',
    }),
    authAudience: defineVariable({
      env: 'CHATMESH_AUTH_AUDIENCE',
      description: 'Required `aud` of client tokens.',
      schema: claimValue(),
      noun: 'audience',
      expected: '1-512 printable ASCII characters without spaces',
      default: 'chatmesh',
    }),
    authJwksUrl: defineOptionalVariable({
      env: 'CHATMESH_AUTH_JWKS_URL',
      description:
        "The identity provider's JWKS (public keys) in stack mode: the gateway refuses to start in stack mode without it. Unused in embedded mode.",
      schema: parsers.url(['http', 'https']),
      noun: 'URL',
      expected: 'an http(s) URL, e.g. https://id.example.com/.well-known/jwks.json',
      requiredInStack: true,
    }),
    authDevSecret: defineVariable({
      env: 'CHATMESH_AUTH_DEV_SECRET',
      description:
        'HS256 secret of embedded mode, which signs `POST /v1/dev/token` tokens and checks them. Never used in stack mode.',
      schema: z.string().min(32).max(4096),
      noun: 'secret',
      expected: 'at least 32 characters',
      default: DEFAULT_DEV_SECRET,
      secret: true,
    }),
  },
});
