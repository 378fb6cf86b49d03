import { probeS3, S3_ACCESS_KEY_ID, S3_BUCKET, S3_REGION, S3_SECRET_ACCESS_KEY } from '@chatmesh/infra';

import { s3EndpointFromEnv } from '../env-endpoints.js';
import {
  checkEnvServer,
  compileProviderOptions,
  endpointFromEnv,
  provideNative,
  type ProvidedServer,
  type ProviderOptions,
} from './provider.js';

/** A real S3-compatible server for a test. */
export interface S3Server extends ProvidedServer {
  /** `http://host:port` of the S3 API. */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** The default bucket; tests that want isolation use a bucket of their own (`randomName`). */
  readonly bucket: string;
}

/**
 * Provides a real S3 API: S3_ENDPOINT / CHATMESH_TEST_S3 when set (keys from S3_ACCESS_KEY_ID and
 * S3_SECRET_ACCESS_KEY, else the local server's), else the native versitygw of @chatmesh/infra (reused if it runs).
 * No container path: versitygw is one Go binary. Call `stop()` in an `after` hook.
 * @throws TestingError CM_ERR_TESTING_NO_SERVER (with how to get one), CM_ERR_TESTING_ENDPOINT_INVALID
 */
export async function startS3(options: ProviderOptions = {}): Promise<S3Server> {
  const compiled = compileProviderOptions(options);
  const env = compiled.env;
  const fromEnv = endpointFromEnv(compiled, 's3', 'S3', s3EndpointFromEnv);
  const credentials = {
    accessKeyId: env.S3_ACCESS_KEY_ID?.trim() || S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY?.trim() || S3_SECRET_ACCESS_KEY,
    region: env.S3_REGION?.trim() || S3_REGION,
    bucket: env.S3_BUCKET?.trim() || S3_BUCKET,
  };
  if (fromEnv !== undefined) {
    const health = await checkEnvServer(
      's3',
      fromEnv,
      () => probeS3(fromEnv),
      Math.min(compiled.readyTimeoutMs, 30_000),
    );
    return { provider: 'env', endpoint: fromEnv, ...credentials, version: health.version, stop: async () => {} };
  }
  const { result, stop } = await provideNative('s3', ['s3'], compiled);
  const s3 = result.endpoints.s3;
  return {
    provider: 'native',
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    region: s3.region,
    bucket: s3.bucket,
    version: result.health.s3?.version,
    stop,
  };
}
