/**
 * A short attachment benchmark: presigned upload requests per second through the gateway's HTTP API, and the
 * end-to-end time of a 10 MB image (upload request → PUT to the object store → send → the recipient's
 * `newAttachment` → download URL → GET of the bytes), each leg timed.
 *
 * The six services run in this process (the in-process bus and store, as embedded mode) with the attachment store
 * of your choice: a real S3 API (versitygw from @chatmesh/testing's startS3(), the default) or the local folder.
 *
 * `npm run bench:attachments -w @chatmesh/load-tests -- [--store s3|local] [--seconds 5] [--concurrency 16] [--mb 10] [--runs 3]`
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createDeliveryGatewayService, type Gateway } from '@chatmesh/delivery-gateway';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { directChatId } from '@chatmesh/protocol';
import { collectConfigSections, silentObservability, startServiceGroup } from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { startS3, waitFor } from '@chatmesh/testing';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 's3' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    mb: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const imageBytes = Math.round(Number(values.mb) * 1_000_000);
const runs = Number(values.runs);
const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('base64');
const now = (): number => performance.now();

/** What the bench reads of the gateway's JSON answers and server frames. */
interface Answer {
  readonly attachmentId?: string;
  readonly upload?: { url: string; headers: Record<string, string> };
  readonly [key: string]: unknown;
}
interface Frame {
  readonly type: string;
  readonly requestId?: string;
  readonly inboxSeq?: number;
  readonly attachment?: { attachmentId: string };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chatmesh-bench-attachments-'));
  const s3 = values.store === 's3' ? await startS3() : null;
  const env: Record<string, string> = {
    CHATMESH_GATEWAY_PORT: '0',
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_LOG_LEVEL: 'silent',
    CHATMESH_ATTACHMENT_MAX_IMAGE_BYTES: String(Math.max(imageBytes, 16 * 1024 * 1024)),
    // The benchmark measures the server, not the per-user rate limit.
    CHATMESH_ATTACHMENT_UPLOADS_PER_MINUTE: '100000',
    CHATMESH_ATTACHMENT_DIR: dir,
    ...(s3
      ? {
          CHATMESH_ATTACHMENT_STORE: 's3',
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          S3_BUCKET: `bench-${randomUUID().slice(0, 8)}`,
        }
      : { CHATMESH_ATTACHMENT_STORE: 'local' }),
  };
  let gateway: Gateway | undefined;
  const modules = [
    ingestService,
    fanOutService,
    createDeliveryGatewayService({ onStarted: (g) => (gateway = g), chatPage: async () => null }),
  ];
  const config = loadConfig({ env, sections: collectConfigSections(modules) });
  const bus = createMemoryBus();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const group = await startServiceGroup(modules, {
    config,
    ...silentObservability('bench-attachments', 'silent'),
    bus,
    codec: createLocalCodec(),
    store,
    presence,
  });
  try {
    await waitFor(() => group.isReady(), { description: 'services ready', timeoutMs: 30_000 });
    const url = gateway!.url;
    const token = async (userId: string): Promise<string> => {
      const response = await fetch(`${url}/v1/dev/token`, {
        method: 'POST',
        body: JSON.stringify({ userId, deviceId: 'phone' }),
      });
      return ((await response.json()) as { token: string }).token;
    };
    const post = async (auth: string, path: string, body: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as Answer };
    };

    // 1. Presigned uploads per second: closed loop, `concurrency` requests in flight for `seconds`.
    const users = await Promise.all(Array.from({ length: concurrency }, (_, i) => token(`bench-${i}`)));
    const digest = sha256(Buffer.from('x'));
    let done = 0;
    let failed = 0;
    const end = now() + seconds * 1000;
    const started = now();
    await Promise.all(
      users.map(async (auth) => {
        while (now() < end) {
          const answer = await post(auth, '/v1/attachments', {
            sizeBytes: 1000,
            contentType: 'image/png',
            sha256: digest,
          });
          if (answer.status === 201) done++;
          else failed++;
        }
      }),
    );
    const perSecond = done / ((now() - started) / 1000);

    // 2. A 10 MB image end to end, `runs` times.
    const [a, b] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`];
    const [ta, tb] = [await token(a), await token(b)];
    const connect = (auth: string) =>
      new Promise<{ ws: WebSocket; frames: Frame[] }>((resolve, reject) => {
        const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, {
          headers: { authorization: `Bearer ${auth}` },
        });
        const frames: Frame[] = [];
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data)) as Frame;
          frames.push(frame);
          if (typeof frame.inboxSeq === 'number')
            ws.send(JSON.stringify({ type: 'ack', upToInboxSeq: frame.inboxSeq }));
          if (frame.type === 'hello') resolve({ ws, frames });
        });
        ws.once('error', reject);
      });
    const [alice, bob] = [await connect(ta), await connect(tb)];
    const chatId = directChatId(a, b);
    alice.ws.send(JSON.stringify({ type: 'createChat', requestId: 'c', chatId, kind: 'direct', members: [b] }));
    await waitFor(() => alice.frames.some((f) => f.requestId === 'c'), {
      description: 'chat created',
      timeoutMs: 10_000,
    });
    const legs: Array<Record<string, number>> = [];
    for (let run = 0; run < runs; run++) {
      const image = randomBytes(imageBytes);
      const t0 = now();
      const grant = await post(ta, '/v1/attachments', {
        sizeBytes: image.length,
        contentType: 'image/jpeg',
        sha256: sha256(image),
        fileName: 'big.jpg',
      });
      const t1 = now();
      const put = await fetch(grant.json.upload!.url, {
        method: 'PUT',
        headers: grant.json.upload!.headers,
        body: image,
      });
      if (put.status !== 200) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
      const t2 = now();
      const attachmentId = grant.json['attachmentId'] as string;
      alice.ws.send(
        JSON.stringify({
          type: 'send',
          requestId: `s${run}`,
          chatId,
          clientMessageId: `m${run}`,
          attachments: [{ attachmentId, mimeType: 'image/jpeg', sizeBytes: image.length, sha256: sha256(image) }],
        }),
      );
      await waitFor(
        () => bob.frames.some((f) => f.type === 'newAttachment' && f.attachment?.attachmentId === attachmentId),
        { description: 'newAttachment', timeoutMs: 30_000, intervalMs: 1 },
      );
      const t3 = now();
      const link = await fetch(`${url}/v1/attachments/${attachmentId}`, { headers: { authorization: `Bearer ${tb}` } });
      const downloadUrl = ((await link.json()) as { download: { url: string } }).download.url;
      const got = Buffer.from(await (await fetch(downloadUrl)).arrayBuffer());
      const t4 = now();
      if (sha256(got) !== sha256(image)) throw new Error('downloaded bytes differ');
      legs.push({ request: t1 - t0, upload: t2 - t1, sendToNewAttachment: t3 - t2, download: t4 - t3, total: t4 - t0 });
    }
    alice.ws.close();
    bob.ws.close();

    const ms = (value: number): string => `${value.toFixed(1)} ms`;
    const median = (key: string): number => {
      const sorted = legs.map((leg) => leg[key]!).sort((x, y) => x - y);
      return sorted[Math.floor(sorted.length / 2)]!;
    };
    process.stdout.write(
      [
        `attachments benchmark (store: ${values.store}${s3 ? ` ${s3.endpoint}` : ''})`,
        `presigned uploads: ${perSecond.toFixed(0)}/s over ${seconds} s with ${concurrency} in flight (${done} granted, ${failed} refused)`,
        `${(imageBytes / 1e6).toFixed(1)} MB image end to end, median of ${runs}: ${ms(median('total'))}`,
        `  upload request ${ms(median('request'))}, PUT ${ms(median('upload'))}, send → newAttachment ${ms(median('sendToNewAttachment'))}, download URL + GET ${ms(median('download'))}`,
        '',
      ].join('\n'),
    );
  } finally {
    await group.stop();
    await Promise.allSettled([bus.close(), store.close(), presence.close(), s3?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
