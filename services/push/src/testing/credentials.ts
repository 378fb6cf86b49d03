import { generateKeyPairSync } from 'node:crypto';
import webpush from 'web-push';

/** A throwaway Firebase service account (RSA 2048), as the JSON key file Google issues. */
export function makeServiceAccount(projectId = 'chatmesh-test'): {
  project_id: string;
  private_key: string;
  private_key_id: string;
  client_email: string;
  type: 'service_account';
} {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    type: 'service_account',
    project_id: projectId,
    private_key_id: 'stand-in-key',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: `push@${projectId}.iam.gserviceaccount.com`,
  };
}

/** A throwaway APNs auth key (.p8: PKCS#8 PEM of a P-256 key) with its ids. */
export function makeApnsKey(): { keyPem: string; keyId: string; teamId: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    keyId: 'ABC123DEFG',
    teamId: 'TEAM123456',
  };
}

/** Throwaway VAPID keys with a subject. */
export function makeVapidKeys(): { publicKey: string; privateKey: string; subject: string } {
  return { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@chatmesh.example' };
}
