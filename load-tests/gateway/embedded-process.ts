import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../src/index.js';
import { compileEntries } from './compile.js';

/** The repository root (this file is `load-tests/gateway/embedded-process.ts`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `npm start`'s process (ingest, fan-out, gateway... on the memory bus), started by a benchmark. */
export interface EmbeddedProcess {
  /** The node process itself (bash `exec`s into it, so its pid is node's). */
  readonly pid: number;
  /** `http://127.0.0.1:<port>`: the gateway's HTTP API (and `ws://…/v1/ws`). */
  readonly gatewayUrl: string;
  /** `http://127.0.0.1:<port>`: the process's ops server (`/ready`, `/metrics`; the gateway's port serves neither). */
  readonly opsUrl: string;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** A free loopback TCP port (bound, read, released: the child binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

/**
 * Starts `deploy/launcher/src/embedded-main.ts` (what `npm start` runs) in its own process with its open
 * files limit raised to `fdLimit` (bash `ulimit -n`, then `exec node`), the ops server on port 0 and the
 * gateway and the ops server on free ports, and waits until the ops server's `/ready` answers 200.
 * @throws BenchError `CM_ERR_BENCH_SETUP_FAILED` when it exits or is not ready within `readyTimeoutMs`
 */
export async function startEmbeddedProcess(options: {
  readonly logDir: string;
  readonly fdLimit?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
  /** Preload `gc-on-signal.ts` with `--expose-gc`: SIGUSR2 then runs a full GC (memory benchmarks). */
  readonly gcOnSignal?: boolean;
  /**
   * Run compiled JavaScript (`compile.ts`: esbuild bundles without `keepNames`, written to
   * `load-tests/gateway/dist/<logDir's name>/`, inside the repository so their
   * external imports resolve from its node_modules; dist/ is git-ignored) with plain `node`, instead of the TypeScript sources through tsx.
   */
  readonly compiled?: boolean;
  /** Extra node flags for the process (e.g. `--max-semi-space-size=1`), put before the entry. */
  readonly nodeFlags?: string;
}): Promise<EmbeddedProcess> {
  const port = await freePort();
  const opsPort = await freePort();
  mkdirSync(options.logDir, { recursive: true });
  const logFile = join(options.logDir, 'embedded.log');
  const log = createWriteStream(logFile);
  const sources = [
    join(REPO_ROOT, 'deploy/launcher/src/embedded-main.ts'),
    join(dirname(fileURLToPath(import.meta.url)), 'gc-on-signal.ts'),
  ];
  const [entry, gcPreload] = options.compiled
    ? await compileEntries(sources, join(dirname(fileURLToPath(import.meta.url)), 'dist', basename(options.logDir)))
    : sources;
  const preload = options.gcOnSignal ? ` --expose-gc --import ${JSON.stringify(gcPreload)}` : '';
  const loader = options.compiled ? '' : ' --import tsx';
  const script = `ulimit -n ${options.fdLimit ?? 20_000} && exec node${loader}${preload}${options.nodeFlags ? ` ${options.nodeFlags}` : ''} ${JSON.stringify(entry)}`;
  const child: ChildProcess = spawn('bash', ['-c', script], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CHATMESH_MODE: 'embedded',
      CHATMESH_HTTP_PORT: String(opsPort),
      CHATMESH_GATEWAY_PORT: String(port),
      CHATMESH_LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: number | null | undefined;
  const exit = new Promise<void>((done) =>
    child.once('exit', (code) => {
      exited = code;
      done();
    }),
  );
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined) {
      throw new BenchError('CM_ERR_BENCH_SETUP_FAILED', `the embedded process exited with ${exited}; see ${logFile}`, {
        context: { phase: 'setup', logFile },
      });
    }
    try {
      const response = await fetch(`${opsUrl}/ready`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new BenchError('CM_ERR_BENCH_TIMEOUT', `the embedded gateway was not ready in time; see ${logFile}`, {
        context: { phase: 'setup', logFile },
      });
    }
    await sleep(250);
  }
  return {
    pid: child.pid ?? 0,
    gatewayUrl,
    opsUrl,
    logFile,
    async stop(graceMs = 15_000) {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Memory of a process from `/proc/<pid>/status`, in bytes. */
export async function readProcessMemory(pid: number): Promise<{ rssBytes: number; rssAnonBytes: number | null }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number | null => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS') ?? Number.NaN, rssAnonBytes: kib('RssAnon') };
}

/** Reads `/metrics` (Prometheus text) and returns the first sample of each named metric (labels ignored). */
export async function readMetrics(baseUrl: string, names: readonly string[]): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    for (const name of names) {
      if (found[name] !== undefined) continue;
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
        const value = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (Number.isFinite(value)) found[name] = value;
      }
    }
  }
  return found;
}
