import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

/** The issuer and audience both modes' gateways accept in the system tests (the gateway's defaults). */
export const TEST_TOKEN_ISSUER = 'chatmesh-dev';
export const TEST_TOKEN_AUDIENCE = 'chatmesh';

/** The claims of a token a test builds by hand, to try what the gateway must refuse. */
export interface TestTokenClaims {
  readonly sub?: string;
  readonly did?: string;
  readonly iss?: string;
  readonly aud?: string;
  /** Seconds from now; `null` leaves `exp` out. Default one hour. */
  readonly expSeconds?: number | null;
}

/** Signs hand-built claims: with the key the gateway trusts, or (`forged`) with another key under the same name. */
export type ClaimsSigner = (claims: TestTokenClaims, options?: { readonly forged?: boolean }) => Promise<string>;

/** The payload of `claims`, filled with the test defaults. */
export function testTokenPayload(claims: TestTokenClaims): JWTPayload {
  const nowS = Math.floor(Date.now() / 1000);
  const expSeconds = claims.expSeconds === undefined ? 3_600 : claims.expSeconds;
  return {
    sub: claims.sub ?? 'someone',
    did: claims.did ?? 'd',
    iss: claims.iss ?? TEST_TOKEN_ISSUER,
    aud: claims.aud ?? TEST_TOKEN_AUDIENCE,
    // Issued a while ago, so that an expiry in the past is still after the issue time.
    iat: nowS - 7_200,
    ...(expSeconds === null ? {} : { exp: nowS + expSeconds }),
  };
}

/** An identity provider for stack tests: an ES256 key served as a JWKS, and tokens signed with it. */
export interface TestJwks {
  readonly url: string;
  sign(userId: string, deviceId: string): Promise<string>;
  readonly signClaims: ClaimsSigner;
  close(): Promise<void>;
}

const KID = 'system-test';

/** Serves a fresh ES256 public key at `http://127.0.0.1:<port>/jwks.json` (issuer chatmesh-dev, audience chatmesh). */
export async function startTestJwks(): Promise<TestJwks> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  // A forger's key: same algorithm and key id, so only the signature tells it apart.
  const forger = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    sign: (userId, deviceId) =>
      new SignJWT({ did: deviceId })
        .setProtectedHeader({ alg: 'ES256', kid: KID })
        .setSubject(userId)
        .setIssuer(TEST_TOKEN_ISSUER)
        .setAudience(TEST_TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    signClaims: (claims, options = {}) =>
      new SignJWT(testTokenPayload(claims))
        .setProtectedHeader({ alg: 'ES256', kid: KID })
        .sign(options.forged ? forger.privateKey : privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
