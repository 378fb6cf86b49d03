import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { probeS3 } from '../components/s3.js';
import { endpointsToEnv, ensureInfra, infraStatus, stopInfra } from '../infra.js';
import { VERSITYGW_VERSION } from '../versions.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const { port } = server.address() as { port: number };
  await new Promise((resolvePromise) => server.close(resolvePromise));
  return port;
}

// Only versitygw, in a state dir and on a port of its own: the servers on the default ports are never touched.
const stateDir = mkdtempSync(join(tmpdir(), 'chatmesh-infra-s3-'));
after(async () => {
  await stopInfra({ components: ['s3'], stateDir, wipe: true }).catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
});

test(
  'up --only s3 builds (or reuses the cached) versitygw, starts it healthy; env exports it; down stops it',
  { timeout: 900_000 },
  async () => {
    const port = await freePort();
    const options = {
      components: ['s3'] as const,
      stateDir,
      ports: { s3: port },
      log: (line: string) => console.log(`  [infra] ${line}`),
    };
    const result = await ensureInfra(options);
    assert.deepEqual(result.started, ['s3']);
    assert.equal(result.health.s3?.version, `versitygw ${VERSITYGW_VERSION}`);
    const env = endpointsToEnv(result.endpoints, ['s3']);
    assert.equal(env.S3_ENDPOINT, `http://127.0.0.1:${port}`);
    assert.ok(env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY && env.S3_BUCKET);
    // An unsigned request reaches the S3 API and is refused as S3 refuses it.
    const anonymous = await fetch(`${env.S3_ENDPOINT}/${env.S3_BUCKET}`);
    assert.ok(anonymous.status === 403 || anonymous.status === 404, `status ${anonymous.status}`);
    assert.match(await anonymous.text(), /<Error><Code>\w+<\/Code>/);

    const [status] = await infraStatus(options);
    assert.equal(status?.state, 'running');
    const stopped = await stopInfra(options);
    assert.deepEqual(
      stopped.map((s) => [s.component, s.outcome]),
      [['s3', 'exited']],
    );
    assert.equal((await probeS3(`http://127.0.0.1:${port}`)).healthy, false);
  },
);
