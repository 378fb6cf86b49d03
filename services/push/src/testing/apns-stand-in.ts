import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { AnswerScript } from './scripted.js';

/** A request the APNs stand-in accepted and checked. */
export interface ApnsReceived {
  readonly deviceToken: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: { aps: { 'content-available'?: number; badge?: number }; chatId?: string | null };
  readonly jwtIssuedAt: number;
}

export interface ApnsStandIn {
  /** `http://127.0.0.1:<port>`: the base URL for CHATMESH_PUSH_APNS_*_URL. */
  readonly url: string;
  readonly script: AnswerScript;
  /** Every request answered 200. */
  readonly received: ApnsReceived[];
  /** Every request with its answer status, including refused ones. */
  readonly answered: Array<{ deviceToken: string; status: number }>;
  /** Distinct provider tokens seen. */
  readonly providerTokens: Set<string>;
  close(): Promise<void>;
}

/**
 * An HTTP/2 (cleartext) server speaking APNs' provider API as Apple documents it: `POST /3/device/<token>` with a
 * provider token (ES256 JWT, `kid` = key id, `iss` = team id, `iat` within the hour) verified against the key's
 * public half, and the headers apns-push-type, apns-topic, apns-priority, apns-collapse-id (≤ 64 bytes) and
 * apns-expiration checked. Answers 200 or what the script says (400 BadDeviceToken, 410 Unregistered, 429, 503…)
 * with APNs' JSON `{ "reason": … }` body.
 */
export async function startApnsStandIn(options: {
  keyPem: string;
  keyId: string;
  teamId: string;
  topic: string;
}): Promise<ApnsStandIn> {
  const publicKey: KeyObject = createPublicKey(options.keyPem);
  const script = new AnswerScript();
  const received: ApnsReceived[] = [];
  const answered: ApnsStandIn['answered'] = [];
  const providerTokens = new Set<string>();
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      void (async () => {
        const path = String(headers[':path'] ?? '');
        const deviceToken = decodeURIComponent(path.replace(/^\/3\/device\//, ''));
        const answer = (status: number, reason?: string, retryAfter?: string) => {
          answered.push({ deviceToken, status });
          const out: http2.OutgoingHttpHeaders = { ':status': status, 'apns-id': crypto.randomUUID() };
          if (retryAfter !== undefined) out['retry-after'] = retryAfter;
          stream.respond(out);
          stream.end(reason === undefined ? '' : JSON.stringify({ reason }));
        };
        if (headers[':method'] !== 'POST' || !path.startsWith('/3/device/')) return answer(404, 'BadPath');
        const auth = String(headers['authorization'] ?? '');
        const jwt = auth.startsWith('bearer ') ? auth.slice('bearer '.length) : '';
        let issuedAt: number;
        try {
          const header = decodeProtectedHeader(jwt);
          if (header.alg !== 'ES256' || header.kid !== options.keyId) return answer(403, 'InvalidProviderToken');
          const verified = await jwtVerify(jwt, publicKey, { algorithms: ['ES256'], issuer: options.teamId });
          issuedAt = Number(verified.payload.iat);
          if (!(Date.now() / 1000 - issuedAt < 3600)) return answer(403, 'ExpiredProviderToken');
        } catch {
          return answer(403, jwt === '' ? 'MissingProviderToken' : 'InvalidProviderToken');
        }
        providerTokens.add(jwt);
        const pushType = headers['apns-push-type'];
        if (pushType !== 'background' && pushType !== 'alert') return answer(400, 'InvalidPushType');
        if (headers['apns-topic'] !== options.topic) return answer(400, 'DeviceTokenNotForTopic');
        if (!['5', '10', '1'].includes(String(headers['apns-priority']))) return answer(400, 'BadPriority');
        if (pushType === 'background' && headers['apns-priority'] !== '5') return answer(400, 'BadPriority');
        const collapseId = String(headers['apns-collapse-id'] ?? '');
        if (collapseId === '' || Buffer.byteLength(collapseId) > 64) return answer(400, 'BadCollapseId');
        if (!/^\d+$/.test(String(headers['apns-expiration'] ?? ''))) return answer(400, 'BadExpirationDate');
        let payload: ApnsReceived['payload'];
        try {
          payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ApnsReceived['payload'];
        } catch {
          return answer(400, 'PayloadEmpty');
        }
        const scripted = script.take(deviceToken);
        if (scripted && scripted.status !== 200) return answer(scripted.status, scripted.reason, scripted.retryAfter);
        // APNs device tokens are 32 bytes, hex.
        if (!/^[0-9a-f]{64}$/.test(deviceToken)) return answer(400, 'BadDeviceToken');
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':')) flat[name] = String(value);
        received.push({ deviceToken, headers: flat, payload, jwtIssuedAt: issuedAt });
        answer(200);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    script,
    received,
    answered,
    providerTokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Clients keep sessions open: close them so close() returns.
        for (const session of sessions) session.destroy();
      }),
  };
}
