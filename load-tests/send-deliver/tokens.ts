import { importJWK, SignJWT, type JWK } from 'jose';

/** How the load generator signs its devices' tokens (serializable: it is sent to the worker processes). */
export type TokenSigner =
  | { readonly alg: 'HS256'; readonly secret: string; readonly issuer: string; readonly audience: string }
  | {
      readonly alg: 'ES256';
      readonly kid: string;
      readonly privateJwk: JWK;
      readonly issuer: string;
      readonly audience: string;
    };

/** A function signing a one-hour token for (user, device), as the gateway checks them. */
export async function createTokenFactory(
  signer: TokenSigner,
): Promise<(userId: string, deviceId: string) => Promise<string>> {
  const key =
    signer.alg === 'HS256' ? new TextEncoder().encode(signer.secret) : await importJWK(signer.privateJwk, 'ES256');
  const header = signer.alg === 'HS256' ? { alg: 'HS256', typ: 'JWT' } : { alg: 'ES256', kid: signer.kid, typ: 'JWT' };
  return (userId, deviceId) =>
    new SignJWT({ did: deviceId })
      .setProtectedHeader(header)
      .setSubject(userId)
      .setIssuer(signer.issuer)
      .setAudience(signer.audience)
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(key);
}
