import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/** An identity provider for stack tests: an ES256 key served as a JWKS, and tokens signed with it. */
export interface TestJwks {
  readonly url: string;
  sign(userId: string, deviceId: string): Promise<string>;
  close(): Promise<void>;
}

/** Serves a fresh ES256 public key at `http://127.0.0.1:<port>/jwks.json` (issuer chatmesh-dev, audience chatmesh). */
export async function startTestJwks(): Promise<TestJwks> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'system-test', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    sign: (userId, deviceId) =>
      new SignJWT({ did: deviceId })
        .setProtectedHeader({ alg: 'ES256', kid: 'system-test' })
        .setSubject(userId)
        .setIssuer('chatmesh-dev')
        .setAudience('chatmesh')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
