import { defineConfigSection, defineOptionalVariable, defineVariable, parsers } from '@chatmesh/config';
import { z } from 'zod';

const text = (max: number) => z.string().min(1).max(max);

/**
 * The push service's settings, under `config.sections.push`. Credentials come from a file or from the variable
 * itself; a provider with none of its credentials set is disabled (and says so in `/ready`), one with some set but
 * not all refuses to start (CM_ERR_PUSH_CREDENTIALS_INVALID).
 */
export const PUSH_CONFIG = defineConfigSection({
  description: 'push: wake-ups to offline devices through FCM, APNs, Web Push and the local push inbox',
  variables: {
    coalesceWindowMs: defineVariable({
      env: 'CHATMESH_PUSH_COALESCE_WINDOW_MS',
      description:
        'At most one wake-up per device and chat in this window: the first request sends, later ones for the same chat are counted as coalesced (the device fetches everything when it wakes).',
      schema: parsers.integer(0, 24 * 60 * 60 * 1000),
      noun: 'duration',
      expected: 'an integer 0-86400000 (milliseconds)',
      default: 15_000,
    }),
    maxAttempts: defineVariable({
      env: 'CHATMESH_PUSH_MAX_ATTEMPTS',
      description:
        'Attempts per wake-up and device on 429, 5xx, timeouts and refused connections (with backoff and jitter, honouring Retry-After); then the request goes to push.requests.dlq.',
      schema: parsers.integer(1, 20),
      noun: 'count',
      expected: 'an integer 1-20',
      default: 5,
    }),
    retryInitialDelayMs: defineVariable({
      env: 'CHATMESH_PUSH_RETRY_INITIAL_DELAY_MS',
      description:
        'The first backoff ceiling; each retry doubles it (full jitter) up to CHATMESH_PUSH_RETRY_MAX_DELAY_MS.',
      schema: parsers.integer(0, 60_000),
      noun: 'duration',
      expected: 'an integer 0-60000 (milliseconds)',
      default: 250,
    }),
    retryMaxDelayMs: defineVariable({
      env: 'CHATMESH_PUSH_RETRY_MAX_DELAY_MS',
      description:
        'The longest wait between two attempts; a Retry-After longer than this ends the retries at once (the request goes to push.requests.dlq).',
      schema: parsers.integer(0, 10 * 60_000),
      noun: 'duration',
      expected: 'an integer 0-600000 (milliseconds)',
      default: 30_000,
    }),
    requestTimeoutMs: defineVariable({
      env: 'CHATMESH_PUSH_REQUEST_TIMEOUT_MS',
      description: 'How long one provider request may take before it counts as failed (and is retried).',
      schema: parsers.integer(100, 120_000),
      noun: 'duration',
      expected: 'an integer 100-120000 (milliseconds)',
      default: 10_000,
    }),
    wakeupTtlSeconds: defineVariable({
      env: 'CHATMESH_PUSH_WAKEUP_TTL_SECONDS',
      description:
        'How long a provider keeps trying to reach a device that is off (FCM ttl, apns-expiration, Web Push TTL); an older wake-up is useless, the device syncs when it connects.',
      schema: parsers.integer(0, 28 * 24 * 60 * 60),
      noun: 'duration',
      expected: 'an integer 0-2419200 (seconds)',
      default: 3_600,
    }),
    keyConcurrency: defineVariable({
      env: 'CHATMESH_PUSH_KEY_CONCURRENCY',
      description:
        "Users handled at once within one push.requests partition (key-ordered concurrency); one user's requests stay in order.",
      schema: parsers.integer(1, 1024),
      noun: 'count',
      expected: 'an integer 1-1024',
      default: 16,
    }),
    fcmServiceAccountFile: defineOptionalVariable({
      env: 'CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE',
      description:
        "Path of the Firebase service account's JSON key (type, project_id, private_key, client_email); FCM is disabled when neither this nor CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_JSON is set.",
      schema: parsers.path(),
      noun: 'path',
      expected: 'a file path',
    }),
    fcmServiceAccountJson: defineOptionalVariable({
      env: 'CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_JSON',
      description: 'The service account JSON itself, instead of a file (for secret stores that inject variables).',
      schema: text(20_000),
      noun: 'JSON document',
      expected: 'a service account JSON document',
      secret: true,
    }),
    fcmProjectId: defineOptionalVariable({
      env: 'CHATMESH_PUSH_FCM_PROJECT_ID',
      description: "The Firebase project to send through; default: the service account's project_id.",
      schema: text(200),
      noun: 'project id',
      expected: 'a Firebase project id',
    }),
    fcmBaseUrl: defineVariable({
      env: 'CHATMESH_PUSH_FCM_BASE_URL',
      description:
        'FCM HTTP v1 base URL (an emulator or egress proxy goes here); requests go to <base>/v1/projects/<project>/messages:send.',
      schema: parsers.url(['http', 'https']),
      noun: 'URL',
      expected: 'an http(s) URL',
      default: 'https://fcm.googleapis.com',
    }),
    fcmTokenUrl: defineVariable({
      env: 'CHATMESH_PUSH_FCM_TOKEN_URL',
      description:
        'The OAuth 2.0 token endpoint that exchanges the signed service account assertion for an access token.',
      schema: parsers.url(['http', 'https']),
      noun: 'URL',
      expected: 'an http(s) URL',
      default: 'https://oauth2.googleapis.com/token',
    }),
    apnsKeyFile: defineOptionalVariable({
      env: 'CHATMESH_PUSH_APNS_KEY_FILE',
      description:
        'Path of the APNs auth key (.p8, PKCS#8 PEM of a P-256 key) for token-based authentication; APNs is disabled when neither this nor CHATMESH_PUSH_APNS_KEY is set.',
      schema: parsers.path(),
      noun: 'path',
      expected: 'a file path',
    }),
    apnsKey: defineOptionalVariable({
      env: 'CHATMESH_PUSH_APNS_KEY',
      description: 'The .p8 key itself (PEM), instead of a file.',
      schema: text(10_000),
      noun: 'PEM key',
      expected: 'a PKCS#8 PEM private key',
      secret: true,
    }),
    apnsKeyId: defineOptionalVariable({
      env: 'CHATMESH_PUSH_APNS_KEY_ID',
      description: "The key's 10-character Key ID (the JWT's kid); required with a key.",
      schema: z.string().regex(/^[A-Z0-9]{10}$/),
      noun: 'key id',
      expected: '10 characters of A-Z and 0-9',
    }),
    apnsTeamId: defineOptionalVariable({
      env: 'CHATMESH_PUSH_APNS_TEAM_ID',
      description: "The Apple developer Team ID (the JWT's iss); required with a key.",
      schema: z.string().regex(/^[A-Z0-9]{10}$/),
      noun: 'team id',
      expected: '10 characters of A-Z and 0-9',
    }),
    apnsProductionUrl: defineVariable({
      env: 'CHATMESH_PUSH_APNS_PRODUCTION_URL',
      description: 'APNs base URL for channels registered with environment production (HTTP/2).',
      schema: parsers.url(['http', 'https']),
      noun: 'URL',
      expected: 'an http(s) URL',
      default: 'https://api.push.apple.com',
    }),
    apnsSandboxUrl: defineVariable({
      env: 'CHATMESH_PUSH_APNS_SANDBOX_URL',
      description: 'APNs base URL for channels registered with environment sandbox (development builds).',
      schema: parsers.url(['http', 'https']),
      noun: 'URL',
      expected: 'an http(s) URL',
      default: 'https://api.sandbox.push.apple.com',
    }),
    webPushVapidFile: defineOptionalVariable({
      env: 'CHATMESH_PUSH_WEB_PUSH_VAPID_FILE',
      description:
        'Path of a JSON file {"publicKey", "privateKey", "subject"} with the VAPID keys (base64url, as `npx web-push generate-vapid-keys` prints them); Web Push is disabled when neither this nor the CHATMESH_PUSH_WEB_PUSH_VAPID_* keys are set.',
      schema: parsers.path(),
      noun: 'path',
      expected: 'a file path',
    }),
    webPushVapidPublicKey: defineOptionalVariable({
      env: 'CHATMESH_PUSH_WEB_PUSH_VAPID_PUBLIC_KEY',
      description: 'The VAPID public key (base64url, 65-byte uncompressed P-256 point), instead of a file.',
      schema: text(200),
      noun: 'key',
      expected: 'a base64url P-256 public key',
    }),
    webPushVapidPrivateKey: defineOptionalVariable({
      env: 'CHATMESH_PUSH_WEB_PUSH_VAPID_PRIVATE_KEY',
      description: 'The VAPID private key (base64url, 32 bytes), instead of a file.',
      schema: text(200),
      noun: 'key',
      expected: 'a base64url P-256 private key',
      secret: true,
    }),
    webPushVapidSubject: defineOptionalVariable({
      env: 'CHATMESH_PUSH_WEB_PUSH_VAPID_SUBJECT',
      description: 'The VAPID subject: a mailto: or https: contact for the push service operators.',
      schema: z.string().regex(/^(mailto:|https:\/\/).{3,}$/),
      noun: 'subject',
      expected: 'a mailto: or https: URL',
    }),
    inboxEnabled: defineVariable({
      env: 'CHATMESH_PUSH_INBOX',
      description:
        'The local push inbox provider: wake-ups of channels registered as `inbox` are recorded (the latest 50 per user, a day) and shown by the chat page. on by default: it needs no credentials and sends nothing out.',
      schema: parsers.oneOf(['on', 'off'] as const),
      noun: 'switch',
      expected: 'on or off',
      default: 'on',
    }),
  },
});
