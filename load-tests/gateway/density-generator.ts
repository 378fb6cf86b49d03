/**
 * One load generator process of the density benchmark (forked by `density.ts`, driven over IPC). It opens
 * idle, authenticated WebSockets to the gateway from its own loopback source address (`localAddress`, so
 * each generator has its own ephemeral port range), keeps them open, and closes them when told to.
 *
 * Messages in: `{type: 'open', from, to}` opens users `from..to-1` (one device each), `{type: 'close'}`.
 * Messages out: `{type: 'opened', held, failed, ms, firstError}`, `{type: 'closed'}`.
 */
import { DEFAULT_DEV_SECRET, signDevToken } from '@chatmesh/delivery-gateway';
import WebSocket from 'ws';

interface GeneratorConfig {
  readonly wsUrl: string;
  readonly localAddress: string;
  readonly issuer: string;
  readonly audience: string;
  readonly concurrency: number;
  readonly connectTimeoutMs: number;
  readonly userPrefix: string;
}

type Command = { type: 'open'; from: number; to: number } | { type: 'close' };

const config = JSON.parse(process.env['CHATMESH_BENCH_GENERATOR'] ?? '{}') as GeneratorConfig;
const sockets: WebSocket[] = [];

function send(message: unknown): void {
  process.send?.(message);
}

/** Opens one authenticated socket and resolves once the gateway has sent `hello` (auth and registration done). */
async function openOne(index: number): Promise<void> {
  const { token } = await signDevToken({
    userId: `${config.userPrefix}${index}`,
    deviceId: 'd',
    issuer: config.issuer,
    audience: config.audience,
    devSecret: DEFAULT_DEV_SECRET,
  });
  await new Promise<void>((resolveOpen, reject) => {
    const ws = new WebSocket(`${config.wsUrl}?access_token=${token}`, {
      localAddress: config.localAddress,
      perMessageDeflate: false,
      handshakeTimeout: config.connectTimeoutMs,
    });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no hello within ${config.connectTimeoutMs} ms`));
    }, config.connectTimeoutMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const type = (JSON.parse(data.toString('utf8')) as { type?: string }).type;
      if (type === 'hello') {
        clearTimeout(timer);
        sockets.push(ws);
        resolveOpen();
      }
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`closed with ${code} before hello`));
    });
  });
}

async function openRange(from: number, to: number): Promise<void> {
  const started = performance.now();
  let next = from;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const index = next++;
      try {
        await openOne(index);
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, to - from) }, worker));
  send({ type: 'opened', held: sockets.length, failed, ms: performance.now() - started, firstError });
}

process.on('message', (command: Command) => {
  if (command.type === 'open') void openRange(command.from, command.to);
  else {
    for (const ws of sockets) ws.terminate();
    sockets.length = 0;
    send({ type: 'closed' });
    process.disconnect?.();
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
