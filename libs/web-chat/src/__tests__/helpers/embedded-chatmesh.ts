/**
 * Embedded chatmesh for the page test, started the way a person starts it: the launcher of `npm start`
 * (deploy/launcher/src/embedded-main.ts) as a child process, with ingest, fan-out, receipts, presence and the gateway,
 * every port chosen by the OS. The gateway serves this package's page itself (it loads
 * @chatmesh/web-chat by name). Started as a process rather than imported, so this package does not depend
 * on the gateway, which depends on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface EmbeddedChatmesh {
  /** `http://127.0.0.1:<port>`: the page at `/`, the API and `/v1/ws`. */
  readonly url: string;
  close(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const LAUNCHER = 'deploy/launcher/src/embedded-main.ts';

export async function startEmbeddedChatmesh(options: { readyTimeoutMs?: number } = {}): Promise<EmbeddedChatmesh> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', LAUNCHER], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CHATMESH_MODE: 'embedded',
      CHATMESH_SERVICES: 'ingest,fan-out,receipts,presence,push,delivery-gateway',
      CHATMESH_GATEWAY_PORT: '0',
      CHATMESH_HTTP_PORT: '0',
      CHATMESH_LOG_LEVEL: 'info',
      // The local folder behind the gateway's signed blob URLs, even when the shell exports an S3 endpoint.
      CHATMESH_ATTACHMENT_STORE: 'local',
      CHATMESH_ATTACHMENT_DIR: mkdtempSync(join(tmpdir(), 'chatmesh-web-chat-attachments-')),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `the embedded launcher did not report its gateway within ${readyTimeoutMs} ms:\n${output.slice(-4000)}`,
          ),
        ),
      readyTimeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      // The gateway logs its URL once it listens: {"component":"delivery-gateway","url":"http://..."}.
      const match = /"component":"delivery-gateway","url":"(http:\/\/[^"]+)"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`the embedded launcher exited with ${code} before its gateway listened:\n${output.slice(-4000)}`),
      );
    });
  });
  return {
    url,
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(forced);
    },
  };
}
