import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { ensureGoTool } from '../tools.js';
import { VERSITYGW_MODULE, VERSITYGW_VERSION } from '../versions.js';
import { childEnv, type ComponentDriver, type HealthReport } from './component.js';

/** The root credentials of the local S3 server (loopback only, test data: not secrets). */
export const S3_ACCESS_KEY_ID = 'chatmesh';
export const S3_SECRET_ACCESS_KEY = 'chatmesh-local-s3-secret';
/** The bucket the services use by default (they create it when missing). */
export const S3_BUCKET = 'chatmesh-attachments';
export const S3_REGION = 'us-east-1';

/**
 * versitygw, an S3 API gateway over a POSIX folder (Apache-2.0, one Go binary): the real S3 server of tests and the
 * local stack. Built once with `go install` from the Go module proxy into the tools cache; object metadata goes to a
 * sidecar folder so the data dir needs no extended attributes. CORS is open, as the chat page uploads from a browser.
 */
export const s3Driver: ComponentDriver = {
  name: 's3',
  dependsOn: [],
  stopGraceMs: 10_000,
  ports: (options) => [options.ports.s3],
  address: (options) => `http://${options.host}:${options.ports.s3}`,

  async prepare(options, paths) {
    const command = await ensureGoTool(
      { name: 'versitygw', packagePath: VERSITYGW_MODULE, version: VERSITYGW_VERSION },
      { log: options.log, env: options.env },
    );
    const objects = join(paths.dataDir, 'objects');
    const meta = join(paths.dataDir, 'meta');
    mkdirSync(objects, { recursive: true });
    mkdirSync(meta, { recursive: true });
    return {
      command,
      args: [
        '--access',
        S3_ACCESS_KEY_ID,
        '--secret',
        S3_SECRET_ACCESS_KEY,
        '--region',
        S3_REGION,
        '--port',
        `${options.host}:${options.ports.s3}`,
        '--health',
        '/health',
        '--quiet',
        '--cors-allow-origin',
        '*',
        'posix',
        '--sidecar',
        meta,
        objects,
      ],
      cwd: paths.dir,
      env: childEnv(options.env),
      logFile: paths.logFile,
    };
  },

  checkHealth: (options) => probeS3(`http://${options.host}:${options.ports.s3}`),
};

/** S3 server health: versitygw's `GET /health` answers 200 (its `Server` header names it). */
export async function probeS3(url: string): Promise<HealthReport> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    if (response.status !== 200) return { healthy: false, detail: `GET /health answered ${response.status}` };
    const server = response.headers.get('server') ?? 'S3';
    return { healthy: true, version: server === 'VERSITYGW' ? `versitygw ${VERSITYGW_VERSION}` : server };
  } catch (error) {
    return { healthy: false, detail: (error as Error).message };
  }
}
