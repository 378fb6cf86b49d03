/**
 * A bounded random-frame run against a live embedded system in its own process: devices of a few users that
 * share real chats send valid, near-valid and garbage frames (JSON junk, invalid UTF-8, binary). Counted, each
 * must be 0: crashes of the system, error lines in its log, `code`s in server frames that the error table does
 * not document, close codes the protocol does not document. The frames come from a seeded generator; the seed
 * is printed with any failure so a run can be repeated (`CHATMESH_FUZZ_SEED`, `CHATMESH_FUZZ_FRAMES`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { directChatId } from '@chatmesh/protocol';
import { startEmbeddedSystemProcess, type EmbeddedSystemProcess } from '@chatmesh/testing';
import { DOCUMENTED_CLOSE_CODES, DOCUMENTED_CODES } from '../documented-codes.js';
import { junkValue, nearValidFrame, validFrame } from '../frame-arbitraries.js';

const FRAMES = Number(process.env['CHATMESH_FUZZ_FRAMES'] ?? 100_000);
const SEED = Number(process.env['CHATMESH_FUZZ_SEED'] ?? Date.now() % 1_000_000);
const USERS = ['fz-ann', 'fz-bob', 'fz-cid', 'fz-dee'];
const DEVICES_PER_USER = 2;
/** Frames sent before a ping and waiting for its pong: the run's flow control. */
const WINDOW = 100;

let system: EmbeddedSystemProcess;

before(async () => {
  system = await startEmbeddedSystemProcess({
    env: {
      // The run is about what frames do, not about the limits (which the authorization and rate tests cover):
      // raised so that connections live long enough to reach deep.
      CHATMESH_GATEWAY_CONNECTION_RATE_PER_SECOND: '100000',
      CHATMESH_GATEWAY_CONNECTION_BURST: '100000',
      CHATMESH_GATEWAY_USER_RATE_PER_SECOND: '100000',
      CHATMESH_GATEWAY_USER_BURST: '100000',
      CHATMESH_GATEWAY_MAX_VIOLATIONS_PER_MINUTE: '100000',
      CHATMESH_INGEST_SEND_RATE_PER_SECOND: '10000',
      CHATMESH_INGEST_SEND_BURST: '100000',
    },
  });
});
after(async () => system?.stop());

interface Tally {
  frames: number;
  undocumentedCodes: Map<string, number>;
  undocumentedCloses: Map<number, number>;
  closes: number;
  serverFrames: number;
  /** Server frames by type (and error frames by code), for the report. */
  kinds: Map<string, number>;
}

/** Every `code` field anywhere in a server frame. */
function codesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) codesIn(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const [key, field] of Object.entries(value)) {
      if (key === 'code' && typeof field === 'string') out.push(field);
      else codesIn(field, out);
    }
  }
  return out;
}

/** One device's connection; reopened when the server closes it (each close is checked). */
class FuzzDevice {
  #socket: WebSocket | null = null;
  #pongs = new Map<string, () => void>();
  /**
   * Set once this connection was sent invalid UTF-8 in a text frame: uWebSockets.js drops such a socket itself,
   * before the gateway sees the frame, so the client sees 1006 (documented in docs/protocol.md); any other 1006 is a
   * server fault.
   */
  #sentInvalidUtf8 = false;
  constructor(
    readonly userId: string,
    readonly deviceId: string,
    readonly tally: Tally,
  ) {}

  async open(): Promise<WebSocket> {
    if (this.#socket?.readyState === WebSocket.OPEN) return this.#socket;
    const socket = new WebSocket(`${system.gatewayUrl.replace(/^http/, 'ws')}/v1/ws`, {
      headers: { authorization: `Bearer ${await system.token(this.userId, this.deviceId)}` },
    });
    socket.on('message', (data, isBinary) => {
      this.tally.serverFrames++;
      if (isBinary) return;
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        this.tally.undocumentedCodes.set('(server frame not JSON)', 1);
        return;
      }
      for (const code of codesIn(frame)) {
        if (!DOCUMENTED_CODES.has(code))
          this.tally.undocumentedCodes.set(code, (this.tally.undocumentedCodes.get(code) ?? 0) + 1);
      }
      const { type, nonce, code } = frame as { type?: string; nonce?: string; code?: string };
      const kind = type === 'error' ? `error ${code}` : String(type);
      this.tally.kinds.set(kind, (this.tally.kinds.get(kind) ?? 0) + 1);
      if (type === 'pong' && nonce !== undefined) this.#pongs.get(nonce)?.();
    });
    socket.on('close', (code) => {
      this.tally.closes++;
      const expectedDrop = code === 1006 && this.#sentInvalidUtf8;
      this.#sentInvalidUtf8 = false;
      if (!expectedDrop && !DOCUMENTED_CLOSE_CODES.has(code))
        this.tally.undocumentedCloses.set(code, (this.tally.undocumentedCloses.get(code) ?? 0) + 1);
      for (const resolve of this.#pongs.values()) resolve();
      this.#pongs.clear();
    });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => {
      socket.once('open', () => resolve());
      socket.once('close', () => resolve());
    });
    this.#socket = socket;
    return socket;
  }

  /**
   * Sends the window's text frames, then a ping, and waits for its pong (or the close, or 10 s): the answers to
   * them have arrived. Then the raw-byte frames (invalid UTF-8, binary), which close the connection.
   */
  async sendWindow(frames: ReadonlyArray<string | Buffer>): Promise<void> {
    const socket = await this.open();
    if (socket.readyState !== WebSocket.OPEN) return;
    for (const frame of frames) {
      if (typeof frame !== 'string') continue;
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(frame);
      this.tally.frames++;
    }
    const nonce = randomBytes(6).toString('hex');
    const pong = new Promise<void>((resolve) => {
      this.#pongs.set(nonce, resolve);
      setTimeout(resolve, 10_000).unref();
    });
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'ping', nonce }));
    await pong;
    this.#pongs.delete(nonce);
    for (const frame of frames) {
      if (typeof frame === 'string' || socket.readyState !== WebSocket.OPEN) continue;
      // A Buffer with `binary: false` goes out as a text frame with these exact bytes (invalid UTF-8 included).
      if (frame[0] !== 0xff) this.#sentInvalidUtf8 = true;
      socket.send(frame, { binary: frame[0] === 0xff });
      this.tally.frames++;
    }
  }

  close(): void {
    this.#socket?.close(1000);
  }
}

/** Frames aimed at the run's real chats and users most of the time, junk the rest. */
function frameArbitrary(chats: readonly string[]): fc.Arbitrary<string | Buffer> {
  const aimed = fc
    .tuple(fc.oneof(validFrame, nearValidFrame), fc.constantFrom(...chats), fc.constantFrom(...USERS), fc.nat(99))
    .map(([frame, chatId, userId, roll]) => {
      const copy: Record<string, unknown> = { ...frame };
      if (roll < 70 && 'chatId' in copy && typeof copy['chatId'] === 'string') copy['chatId'] = chatId;
      if (roll < 50 && Array.isArray(copy['userIds'])) copy['userIds'] = [userId];
      if (roll < 50 && Array.isArray(copy['members'])) copy['members'] = [userId];
      return JSON.stringify(copy);
    });
  return fc.oneof(
    { weight: 40, arbitrary: aimed },
    { weight: 5, arbitrary: junkValue.map((value) => JSON.stringify(value) ?? 'undefined') },
    { weight: 5, arbitrary: fc.string({ maxLength: 80 }) },
    // Invalid UTF-8 in a text frame, and a binary frame (marked by its first byte, see sendWindow).
    {
      weight: 1,
      arbitrary: fc.constantFrom(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), Buffer.from([0xff, 0x00, 0x01])),
    },
  );
}

test(`${FRAMES} random frames against a live gateway: no crash, no error log, only documented codes`, async () => {
  const tally: Tally = {
    frames: 0,
    undocumentedCodes: new Map(),
    undocumentedCloses: new Map(),
    closes: 0,
    serverFrames: 0,
    kinds: new Map(),
  };
  const devices = USERS.flatMap((userId) =>
    Array.from({ length: DEVICES_PER_USER }, (_, n) => new FuzzDevice(userId, `${userId}-d${n}`, tally)),
  );
  // Real chats among the users: every direct pair and one group, created by valid frames first.
  const chats = [`fz-group-${SEED}`];
  const setup: string[] = [];
  for (const [i, a] of USERS.entries()) {
    for (const b of USERS.slice(i + 1)) {
      const chatId = directChatId(a, b);
      chats.push(chatId);
      if (a === USERS[0])
        setup.push(JSON.stringify({ type: 'createChat', requestId: `s-${b}`, chatId, kind: 'direct', members: [b] }));
    }
  }
  setup.push(
    JSON.stringify({
      type: 'createChat',
      requestId: 's-g',
      chatId: chats[0],
      kind: 'group',
      members: USERS.slice(1),
      name: 'fuzz',
    }),
  );
  await devices[0]!.sendWindow(setup);

  const frames = fc.sample(frameArbitrary(chats), { numRuns: FRAMES, seed: SEED });
  const windows = Math.ceil(frames.length / WINDOW);
  // Devices take windows in turn, all devices at once.
  for (let w = 0; w < windows; w += devices.length) {
    await Promise.all(
      devices.map((device, d) => {
        const start = (w + d) * WINDOW;
        return start < frames.length ? device.sendWindow(frames.slice(start, start + WINDOW)) : undefined;
      }),
    );
    assert.equal(system.exitCode(), undefined, `the system exited (seed ${SEED}); see ${system.logFile}`);
  }
  for (const device of devices) device.close();

  const health = await fetch(`${system.opsUrl}/health`);
  assert.equal(health.status, 200, 'the system is still healthy');
  const errors = await system.logLinesAtLeast('error');
  const report = `seed ${SEED}, ${tally.frames} frames, ${tally.serverFrames} server frames, ${tally.closes} closes; log ${system.logFile}`;
  process.stdout.write(`# fuzz: ${report}\n# server frames: ${JSON.stringify(Object.fromEntries(tally.kinds))}\n`);
  assert.ok(tally.frames >= FRAMES * 0.9, `most frames were sent (${report})`);
  assert.deepEqual(errors.slice(0, 5), [], `error lines in the log (${report})`);
  assert.deepEqual(Object.fromEntries(tally.undocumentedCodes), {}, `undocumented codes (${report})`);
  assert.deepEqual(Object.fromEntries(tally.undocumentedCloses), {}, `undocumented close codes (${report})`);
});
