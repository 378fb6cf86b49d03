import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { AnswerScript } from './scripted.js';

/** A message the FCM stand-in accepted. */
export interface FcmReceived {
  readonly projectId: string;
  readonly message: {
    token: string;
    data?: Record<string, string>;
    notification?: unknown;
    android?: { collapse_key?: string; priority?: string; ttl?: string };
  };
}

export interface FcmStandIn {
  /** Each answer waits this long first (a slow provider; the benchmark and crash tests use it). */
  delayMs: number;
  /** Base URL for CHATMESH_PUSH_FCM_BASE_URL. */
  readonly url: string;
  /** Token endpoint for CHATMESH_PUSH_FCM_TOKEN_URL. */
  readonly tokenUrl: string;
  readonly script: AnswerScript;
  readonly received: FcmReceived[];
  readonly answered: Array<{ token: string; status: number }>;
  /** Access tokens issued (one per verified assertion). */
  readonly tokensIssued: () => number;
  /** Makes every issued access token invalid (the next send gets 401). */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/**
 * An FCM HTTP v1 endpoint and an OAuth 2.0 token endpoint, following Google's documented contracts. The token
 * endpoint takes `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 assertion, verified with
 * the service account's public key (iss = client_email, aud = Google's token URL, scope with firebase.messaging), and
 * issues bearer tokens that live `accessTokenTtlSeconds`. `POST /v1/projects/<project>/messages:send` requires one,
 * and answers `{ name }` or what the script says, with FCM's error body (`details[].errorCode`, e.g. UNREGISTERED).
 */
export async function startFcmStandIn(options: {
  projectId: string;
  clientEmail: string;
  /** The service account's private key; the stand-in verifies with its public half. */
  privateKeyPem: string;
  accessTokenTtlSeconds?: number;
}): Promise<FcmStandIn> {
  const publicKey: KeyObject = createPublicKey(options.privateKeyPem);
  const ttl = options.accessTokenTtlSeconds ?? 3600;
  const script = new AnswerScript();
  const received: FcmReceived[] = [];
  const answered: FcmStandIn['answered'] = [];
  const accessTokens = new Map<string, number>();
  let issued = 0;

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const fcmError = (status: number, errorCode: string) => ({
    error: {
      code: status,
      message: `scripted ${errorCode}`,
      status:
        status === 404
          ? 'NOT_FOUND'
          : status === 429
            ? 'RESOURCE_EXHAUSTED'
            : status >= 500
              ? 'UNAVAILABLE'
              : 'INVALID_ARGUMENT',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
    },
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        if (standIn.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, standIn.delayMs));
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://stand-in');
        if (req.method === 'POST' && url.pathname === '/token') {
          const form = new URLSearchParams(body);
          if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
            return json(res, 400, { error: 'unsupported_grant_type' });
          try {
            const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, {
              algorithms: ['RS256'],
              issuer: options.clientEmail,
              audience: GOOGLE_TOKEN_URL,
            });
            if (
              !String(payload['scope'] ?? '')
                .split(' ')
                .includes('https://www.googleapis.com/auth/firebase.messaging')
            )
              return json(res, 400, { error: 'invalid_scope' });
          } catch (error) {
            return json(res, 400, { error: 'invalid_grant', error_description: (error as Error).message });
          }
          const token = `ya29.stand-in-${randomUUID()}`;
          accessTokens.set(token, Date.now() + ttl * 1000);
          issued++;
          return json(res, 200, { access_token: token, expires_in: ttl, token_type: 'Bearer' });
        }
        const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
        if (req.method !== 'POST' || !match) return json(res, 404, { error: { code: 404, status: 'NOT_FOUND' } });
        const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        const expiresAt = accessTokens.get(bearer);
        if (expiresAt === undefined || expiresAt < Date.now())
          return json(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
        if (decodeURIComponent(match[1]!) !== options.projectId)
          return json(res, 403, { error: { code: 403, status: 'PERMISSION_DENIED' } });
        let message: FcmReceived['message'];
        try {
          message = (JSON.parse(body) as { message: FcmReceived['message'] }).message;
        } catch {
          return json(res, 400, fcmError(400, 'INVALID_ARGUMENT'));
        }
        const scripted = script.take(message.token);
        if (scripted && scripted.status !== 200) {
          answered.push({ token: message.token, status: scripted.status });
          return json(
            res,
            scripted.status,
            fcmError(scripted.status, scripted.reason ?? 'INTERNAL'),
            scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter },
          );
        }
        answered.push({ token: message.token, status: 200 });
        received.push({ projectId: options.projectId, message });
        json(res, 200, { name: `projects/${options.projectId}/messages/${randomUUID()}` });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const standIn: FcmStandIn = {
    delayMs: 0,
    url: `http://127.0.0.1:${port}`,
    tokenUrl: `http://127.0.0.1:${port}/token`,
    script,
    received,
    answered,
    tokensIssued: () => issued,
    revokeAccessTokens: () => accessTokens.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standIn;
}
