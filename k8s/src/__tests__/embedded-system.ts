/**
 * An embedded chatmesh as `npm start` runs it (the launcher, in its own process, on free ports), and
 * traffic through its gateway with the SDK: direct and group chats, messages, acks, reads, typing,
 * presence, a reconnect (replay), a refused token and a malformed frame, so that every metric the rules
 * and dashboards read has series.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { createChatClient, type ChatClient } from '@chatmesh/client';
import { WebSocket } from 'ws';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface EmbeddedSystem {
  opsUrl: string;
  gatewayUrl: string;
  stop(): Promise<void>;
}

/** Starts `npm start`'s entry (deploy/launcher/src/embedded-main.ts) and waits for /ready. */
export async function startEmbedded(): Promise<EmbeddedSystem> {
  const opsPort = await freePort();
  const gatewayPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'deploy/launcher/src/embedded-main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CHATMESH_MODE: 'embedded',
      CHATMESH_HTTP_PORT: String(opsPort),
      CHATMESH_GATEWAY_PORT: String(gatewayPort),
      CHATMESH_LOG_LEVEL: 'warn',
      // Sweeps every second, so the sweep histogram has observations within the test.
      CHATMESH_PRESENCE_SWEEP_INTERVAL_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-10_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the embedded launcher exited:\n${output}`);
    const ready = await fetch(`${opsUrl}/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the embedded launcher was not ready in 90 s:\n${output}`);
    }
    await sleep(250);
  }
  return {
    opsUrl,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

async function devToken(gatewayUrl: string, userId: string, deviceId: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/v1/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, deviceId }),
  });
  if (!response.ok) throw new Error(`POST /v1/dev/token answered ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

async function connect(gatewayUrl: string, userId: string, deviceId: string): Promise<ChatClient> {
  const client = createChatClient({
    url: gatewayUrl,
    deviceId,
    tokenProvider: () => devToken(gatewayUrl, userId, deviceId),
    webSocketFactory: (url) => new WebSocket(url),
  });
  await client.connected();
  return client;
}

/** Opens a raw socket, sends `frame`, waits for one answer and closes. */
async function rawExchange(url: string, frame: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = new WebSocket(url);
    const done = (): void => {
      socket.terminate();
      resolve();
    };
    socket.once('error', done);
    socket.once('unexpected-response', done);
    socket.once('open', () => {
      socket.once('message', () => {
        socket.send(frame);
        socket.once('message', done);
      });
    });
    setTimeout(done, 5_000).unref();
  });
}

/** Drives `rounds` of conversation; resolves when every message was received. */
export async function driveTraffic(gatewayUrl: string, rounds = 20): Promise<void> {
  const alice = await connect(gatewayUrl, 'alice', 'phone');
  const bob = await connect(gatewayUrl, 'bob', 'phone');
  const carol = await connect(gatewayUrl, 'carol', 'laptop');
  try {
    let received = 0;
    bob.on('messageReceived', () => {
      received += 1;
    });
    bob.subscribePresence(['alice']);
    const direct = await alice.createDirectChat('bob');
    const group = await alice.createGroup('metrics', ['bob', 'carol']);
    let lastSeq = 0;
    for (let round = 0; round < rounds; round += 1) {
      alice.setTyping(direct.chatId, true);
      lastSeq = (await alice.send(direct.chatId, { body: `hello ${round}` })).seq;
      await alice.send(group.chatId, { body: `group ${round}` });
    }
    const deadline = Date.now() + 30_000;
    while (received < rounds * 2 && Date.now() < deadline) await sleep(50);
    if (received < rounds * 2) throw new Error(`bob received ${received} of ${rounds * 2} messages`);
    bob.markRead(direct.chatId, lastSeq);
    // A second device connecting replays the inbox (replay duration, replayed entries).
    const bobLaptop = await connect(gatewayUrl, 'bob', 'laptop');
    await sleep(500);
    await bobLaptop.close();
    const wsUrl = `${gatewayUrl.replace(/^http/, 'ws')}/v1/ws`;
    // A refused token (auth failures) and a malformed frame (frame errors).
    await rawExchange(`${wsUrl}?access_token=not-a-token`, '{}');
    await rawExchange(`${wsUrl}?access_token=${await devToken(gatewayUrl, 'mallory', 'phone')}`, '{"type":');
  } finally {
    await Promise.allSettled([alice.close(), bob.close(), carol.close()]);
  }
}
