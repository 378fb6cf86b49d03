import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { waitFor, within } from './launcher-process.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
let npmPid: number | undefined;
after(() => {
  // A failed run must not leave the server behind: its whole group (npm, sh, node).
  if (npmPid !== undefined) {
    try {
      process.kill(-npmPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const answers = (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
    () => true,
    () => false,
  );

test('SIGTERM to the `npm start` process (not the group) stops the server', { timeout: 120_000 }, async () => {
  const [gatewayPort, opsPort] = [await freePort(), await freePort()];
  let output = '';
  const npm = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      CHATMESH_GATEWAY_PORT: String(gatewayPort),
      CHATMESH_HTTP_PORT: String(opsPort),
      CHATMESH_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own group, so the cleanup above can reach whatever npm started; the test signals npm's pid alone.
    detached: true,
  });
  npmPid = npm.pid;
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    npm.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const health = `http://127.0.0.1:${gatewayPort}/health`;
  await waitFor(async () => ((await answers(health)) ? true : undefined), 90_000, 'the gateway to answer');

  process.kill(npm.pid!, 'SIGTERM');
  await waitFor(
    async () => ((await answers(health)) ? undefined : true),
    20_000,
    `the gateway port to close after SIGTERM to npm\n${output}`,
  );
  assert.equal(await answers(`http://127.0.0.1:${opsPort}/health`), false, 'the ops port closed too');
  await within(exited, 20_000, 'npm to exit');
  npmPid = undefined;
  assert.match(output, /stopped cleanly/);
});
