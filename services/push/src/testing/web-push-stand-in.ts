import { createDecipheriv, createECDH, createHmac, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify } from 'jose';
import { AnswerScript } from './scripted.js';

/** A browser-side subscription: what `PushSubscription.toJSON()` gives, plus its private key (the stand-in's). */
export interface StandInSubscription {
  readonly id: string;
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

/** A message the stand-in decrypted. */
export interface WebPushReceived {
  readonly subscriptionId: string;
  /** The decrypted payload, parsed as JSON. */
  readonly payload: { type?: string; chatId?: string | null; badge?: number };
  readonly headers: Readonly<Record<string, string>>;
  /** The VAPID JWT's claims (aud, exp, sub). */
  readonly vapid: { aud: string; exp: number; sub: string };
}

export interface WebPushStandIn {
  /** Each answer waits this long first (a slow provider; the benchmark and crash tests use it). */
  delayMs: number;
  readonly url: string;
  readonly script: AnswerScript;
  readonly received: WebPushReceived[];
  readonly answered: Array<{ subscriptionId: string; status: number }>;
  /** A new subscription: its P-256 key pair and auth secret are made with node:crypto, as a browser would. */
  subscribe(): StandInSubscription;
  close(): Promise<void>;
}

const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * Decrypts an aes128gcm Web Push message (RFC 8291 with RFC 8188's content coding) with the subscription's
 * private key and auth secret.
 * @throws Error when the header, keys or tag do not check out
 */
export function decryptAes128gcm(body: Buffer, uaPrivate: ReturnType<typeof createECDH>, authSecret: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const asPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  if (idLength !== 65 || recordSize < 18 || ciphertext.length > recordSize) throw new Error('bad aes128gcm header');
  const uaPublic = uaPrivate.getPublicKey();
  const ecdhSecret = uaPrivate.computeSecret(asPublic);
  const prkKey = hmac(authSecret, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic, Buffer.from([1])]);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('bad padding delimiter');
  return padded.subarray(0, end);
}

/**
 * A push service endpoint (RFC 8030) that checks what a real one checks and proves the encryption: the VAPID
 * `Authorization: vapid t=<jwt>, k=<key>` (ES256 signature with k, aud = the endpoint's origin, exp within 24 h, sub
 * set), `Content-Encoding: aes128gcm` and `TTL`, then **decrypts** the body with the subscription's private key.
 * Answers 201 or what the script says (404 / 410 for a dead subscription, 429 with Retry-After, 5xx).
 */
export async function startWebPushStandIn(options: { vapidPublicKey: string }): Promise<WebPushStandIn> {
  const subscriptions = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: Buffer }>();
  const script = new AnswerScript();
  const received: WebPushReceived[] = [];
  const answered: WebPushStandIn['answered'] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        if (standIn.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, standIn.delayMs));
        const id = decodeURIComponent((req.url ?? '').replace(/^\/push\//, ''));
        const answer = (status: number, headers: Record<string, string> = {}, text = '') => {
          answered.push({ subscriptionId: id, status });
          res.writeHead(status, headers);
          res.end(text);
        };
        const subscription = subscriptions.get(id);
        if (req.method !== 'POST' || !subscription) return answer(404, {}, 'no such subscription');
        const auth = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
        if (!auth) return answer(401, {}, 'VAPID authorization required');
        if (auth[2] !== options.vapidPublicKey) return answer(403, {}, 'unknown VAPID key');
        let claims: WebPushReceived['vapid'];
        try {
          const raw = Buffer.from(auth[2]!, 'base64url');
          const key = await importJWK(
            {
              kty: 'EC',
              crv: 'P-256',
              x: raw.subarray(1, 33).toString('base64url'),
              y: raw.subarray(33, 65).toString('base64url'),
            },
            'ES256',
          );
          const { payload } = await jwtVerify(auth[1]!, key, { algorithms: ['ES256'], audience: base });
          if (typeof payload.exp !== 'number' || payload.exp > Date.now() / 1000 + 24 * 3600) throw new Error('exp');
          if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub)) throw new Error('sub');
          claims = { aud: String(payload.aud), exp: payload.exp, sub: payload.sub };
        } catch (error) {
          return answer(403, {}, `bad VAPID token: ${(error as Error).message}`);
        }
        if (req.headers['content-encoding'] !== 'aes128gcm') return answer(415, {}, 'aes128gcm expected');
        if (!/^\d+$/.test(String(req.headers['ttl'] ?? ''))) return answer(400, {}, 'TTL required');
        const scripted = script.take(id);
        if (scripted && scripted.status >= 300) {
          return answer(
            scripted.status,
            scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter },
          );
        }
        let payload: WebPushReceived['payload'];
        try {
          payload = JSON.parse(
            decryptAes128gcm(Buffer.concat(chunks), subscription.ecdh, subscription.auth).toString('utf8'),
          ) as WebPushReceived['payload'];
        } catch (error) {
          return answer(400, {}, `cannot decrypt: ${(error as Error).message}`);
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
        received.push({ subscriptionId: id, payload, headers, vapid: claims });
        answer(201, { location: `${base}/message/${randomUUID()}` });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  const standIn: WebPushStandIn = {
    delayMs: 0,
    url: base,
    script,
    received,
    answered,
    subscribe() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      const id = randomUUID();
      subscriptions.set(id, { ecdh, auth });
      return {
        id,
        endpoint: `${base}/push/${id}`,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standIn;
}
