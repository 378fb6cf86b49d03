/**
 * `npm start`'s system (every service in one process on the memory bus and stores) started as a child process,
 * for tests that must survive what they do to it: a crash of the system is seen as its exit, not as the test
 * runner dying. Ports are free loopback ports; the log (JSON lines, stdout and stderr) goes to a file.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { TestingError } from './errors.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface EmbeddedSystemProcess {
  /** `http://127.0.0.1:<port>`: the gateway (HTTP API, `/v1/ws`). */
  readonly gatewayUrl: string;
  /** `http://127.0.0.1:<port>`: the ops server (`/metrics`, `/ready`, `/health`). */
  readonly opsUrl: string;
  readonly logFile: string;
  /** A one-hour token for (user, device), signed with the development secret this system was started with. */
  token(userId: string, deviceId: string): Promise<string>;
  /** The exit code once the process has exited on its own (a crash), else undefined. */
  exitCode(): number | null | undefined;
  /** The log's JSON lines at `level` or above (`error`, `fatal`). */
  logLinesAtLeast(level: 'warn' | 'error' | 'fatal'): Promise<string[]>;
  stop(): Promise<void>;
}

/** A free loopback TCP port. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/**
 * Starts the embedded system with `env` on top of its defaults and waits until its gateway is ready.
 * @throws TestingError CM_ERR_TESTING_WAIT_TIMEOUT when it exits or is not ready within `readyTimeoutMs`
 */
export async function startEmbeddedSystemProcess(
  options: { env?: Readonly<Record<string, string>>; readyTimeoutMs?: number } = {},
): Promise<EmbeddedSystemProcess> {
  const [gatewayPort, opsPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const devSecret = randomBytes(32).toString('base64url');
  const logFile = join(mkdtempSync(join(tmpdir(), 'chatmesh-embedded-')), 'embedded.log');
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'deploy/launcher/src/embedded-main.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CHATMESH_MODE: 'embedded',
      CHATMESH_GATEWAY_HOST: '127.0.0.1',
      CHATMESH_GATEWAY_PORT: String(gatewayPort),
      CHATMESH_HTTP_PORT: String(opsPort),
      CHATMESH_LOG_LEVEL: 'warn',
      CHATMESH_AUTH_DEV_SECRET: devSecret,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited: number | null | undefined;
  const exit = new Promise<void>((done) =>
    child.once('exit', (code) => {
      exited = code;
      done();
    }),
  );
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new TestingError(
        'CM_ERR_TESTING_WAIT_TIMEOUT',
        exited !== undefined
          ? `the embedded system exited with ${exited}; see ${logFile}`
          : `not ready; see ${logFile}`,
      );
    }
    const ready = await fetch(`${opsUrl}/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((done) => setTimeout(done, 250));
  }
  return {
    gatewayUrl,
    opsUrl,
    logFile,
    token: (userId, deviceId) =>
      new SignJWT({ did: deviceId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer('chatmesh-dev')
        .setAudience('chatmesh')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(devSecret)),
    exitCode: () => exited,
    async logLinesAtLeast(level) {
      const min = LEVELS.indexOf(level);
      const text = await readFile(logFile, 'utf8');
      return text.split('\n').filter((line) => {
        const match = /"level":"(\w+)"/.exec(line);
        return match !== null && LEVELS.indexOf(match[1]!) >= min;
      });
    },
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
      await new Promise((done) => log.end(done));
    },
  };
}
