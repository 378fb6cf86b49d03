/**
 * Reproducer of issue 15, item 2: a gateway accepts the WebSocket upgrade (101) and never sends `hello`.
 *
 * Each start launches the embedded server (`deploy/launcher`, the same as `npm start`) on free loopback
 * ports and, as soon as it logs "gateway listening", opens `--connections` raw upgrades at once, each with
 * its own token (a different user per connection, signed beforehand with the development secret). Every
 * connection must get `101` and then a `hello` within `--hello-timeout-ms`; one that gets `101` and then
 * anything else (a TCP close, a close frame, silence) is a failure. It prints each start's failures, the
 * rate over all starts, and keeps the server's log of every failing start.
 *
 *   node --import tsx services/delivery-gateway/scripts/upgrade-hello-repro.ts --starts 20 --connections 300
 *
 * Bounded: loopback only, one server at a time, each start ends by SIGTERM to the server it launched (then
 * SIGKILL after 20 s). Exit code 1 when any start failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DEV_SECRET, signDevToken } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    starts: { type: 'string', default: '10' },
    connections: { type: 'string', default: '300' },
    'hello-timeout-ms': { type: 'string', default: '10000' },
    // Delay between "gateway listening" and the first upgrade (the issue: within ~0.4 s).
    'delay-ms': { type: 'string', default: '0' },
    'log-level': { type: 'string', default: 'debug' },
    'log-dir': { type: 'string', default: '/tmp/upgrade-hello-repro' },
    // Extra environment for the server, KEY=VALUE (repeatable).
    env: { type: 'string', multiple: true, default: [] },
  },
});
const STARTS = Number(args.starts);
const CONNECTIONS = Number(args.connections);
const HELLO_TIMEOUT_MS = Number(args['hello-timeout-ms']);
const DELAY_MS = Number(args['delay-ms']);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** What one raw connection saw. */
interface Outcome {
  index: number;
  status: number | null;
  /** ms after the upgrade request was written. */
  upgradedMs: number | null;
  helloMs: number | null;
  firstFrame: string | null;
  closeFrame: number | null;
  tcpClosedMs: number | null;
  error: string | null;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Opens one raw upgrade and follows it until `hello`, a close, or the timeout. */
function rawUpgrade(port: number, token: string, index: number): Promise<Outcome> {
  return new Promise((done) => {
    const outcome: Outcome = {
      index,
      status: null,
      upgradedMs: null,
      helloMs: null,
      firstFrame: null,
      closeFrame: null,
      tcpClosedMs: null,
      error: null,
    };
    const startedAt = performance.now();
    const elapsed = (): number => Math.round(performance.now() - startedAt);
    let buffer = Buffer.alloc(0);
    let headersDone = false;
    let finished = false;
    const socket: Socket = connect(port, '127.0.0.1');
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      done(outcome);
    };
    const timer = setTimeout(finish, HELLO_TIMEOUT_MS);
    socket.on('connect', () => {
      socket.write(
        `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          `Authorization: Bearer ${token}\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!headersDone) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        outcome.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        buffer = buffer.subarray(end + 4);
        headersDone = true;
        if (outcome.status !== 101) return finish();
        outcome.upgradedMs = elapsed();
      }
      // Server frames are unmasked; the ones here are small (hello), so 7- and 16-bit lengths suffice.
      while (buffer.length >= 2) {
        const opcode = buffer[0]! & 0x0f;
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        const payload = buffer.subarray(offset, offset + length);
        buffer = buffer.subarray(offset + length);
        if (opcode === 0x8) {
          outcome.closeFrame = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          outcome.firstFrame ??= 'close';
          return finish();
        }
        if (opcode === 0x1) {
          const type = (JSON.parse(payload.toString('utf8')) as { type?: string }).type ?? '?';
          outcome.firstFrame ??= type;
          if (type === 'hello') {
            outcome.helloMs = elapsed();
            return finish();
          }
        }
      }
    });
    socket.on('error', (error) => (outcome.error = error.message));
    socket.on('close', () => {
      outcome.tcpClosedMs = elapsed();
      finish();
    });
  });
}

/** Starts the embedded launcher and resolves once it logged "gateway listening". */
function launch(gatewayPort: number, opsPort: number, log: string[]): Promise<ChildProcess> {
  const extraEnv = Object.fromEntries(
    args.env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'deploy/launcher/src/embedded-main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      CHATMESH_GATEWAY_HOST: '127.0.0.1',
      CHATMESH_GATEWAY_PORT: String(gatewayPort),
      CHATMESH_HTTP_PORT: String(opsPort),
      CHATMESH_LOG_LEVEL: args['log-level'],
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolveChild, reject) => {
    let pendingLine = '';
    let listening = false;
    const onText = (text: string): void => {
      pendingLine += text;
      const lines = pendingLine.split('\n');
      pendingLine = lines.pop()!;
      for (const line of lines) {
        log.push(line);
        if (!listening && line.includes('"msg":"gateway listening"')) {
          listening = true;
          resolveChild(child);
        }
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onText);
    child.stderr!.setEncoding('utf8').on('data', onText);
    child.once('exit', (code) => {
      if (!listening) reject(new Error(`the launcher exited with ${code} before listening:\n${log.join('\n')}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(kill);
}

async function oneStart(run: number): Promise<Outcome[]> {
  const tokens = await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, i) => {
      const { token } = await signDevToken({
        userId: `r${run}u${i}`,
        deviceId: `d${i}`,
        issuer: 'chatmesh-dev',
        audience: 'chatmesh',
        devSecret: DEFAULT_DEV_SECRET,
      });
      return token;
    }),
  );
  const [gatewayPort, opsPort] = [await freePort(), await freePort()];
  const log: string[] = [];
  const child = await launch(gatewayPort, opsPort, log);
  if (DELAY_MS > 0) await new Promise((r) => setTimeout(r, DELAY_MS));
  let outcomes: Outcome[];
  try {
    // All at once, as a reconnect storm after a restart does.
    outcomes = await Promise.all(tokens.map((token, i) => rawUpgrade(gatewayPort, token, i + 1)));
  } finally {
    await stop(child);
  }
  const failures = outcomes.filter((o) => o.status === 101 && o.helloMs === null);
  if (failures.length > 0) {
    mkdirSync(args['log-dir'], { recursive: true });
    const file = join(args['log-dir'], `start-${run}.log`);
    writeFileSync(file, `${log.join('\n')}\n`);
    process.stdout.write(`  server log: ${file}\n`);
  }
  return outcomes;
}

let failedStarts = 0;
let failedConnections = 0;
let upgraded = 0;
const helloTimes: number[] = [];
for (let run = 1; run <= STARTS; run++) {
  const outcomes = await oneStart(run);
  const failures = outcomes.filter((o) => o.status === 101 && o.helloMs === null);
  const refused = outcomes.filter((o) => o.status !== 101);
  upgraded += outcomes.length - refused.length;
  for (const o of outcomes) if (o.helloMs !== null && o.upgradedMs !== null) helloTimes.push(o.helloMs - o.upgradedMs);
  if (failures.length > 0) failedStarts++;
  failedConnections += failures.length;
  process.stdout.write(
    `start ${run}: ${outcomes.length - refused.length} upgraded, ${refused.length} not (` +
      `${[...new Set(refused.map((o) => o.status ?? o.error))].join(',') || '-'}), ${failures.length} without hello` +
      (failures.length > 0
        ? `: ${failures
            .map(
              (o) =>
                `#${o.index} (101 at ${o.upgradedMs} ms, first frame ${o.firstFrame ?? 'none'}, close frame ` +
                `${o.closeFrame ?? 'none'}, tcp closed ${o.tcpClosedMs === null ? 'no' : `at ${o.tcpClosedMs} ms`})`,
            )
            .join('; ')}`
        : '') +
      '\n',
  );
}
helloTimes.sort((a, b) => a - b);
const quantile = (q: number): number =>
  helloTimes[Math.min(helloTimes.length - 1, Math.floor(q * helloTimes.length))] ?? 0;
process.stdout.write(
  `\n${failedStarts} of ${STARTS} starts had an upgrade without hello; ${failedConnections} of ${upgraded} upgraded ` +
    `connections. upgrade -> hello: p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms, max ${helloTimes.at(-1) ?? 0} ms\n`,
);
process.exitCode = failedStarts > 0 ? 1 : 0;
