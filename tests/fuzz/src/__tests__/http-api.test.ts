/**
 * Random requests against a live embedded system's HTTP API (its own process): methods, paths built from the
 * real routes with junk segments (percent-encoding, traversal, very long), query strings, tokens (none, junk,
 * valid) and bodies. Each answer: never a 500, and every JSON error answer carries a documented code; the system
 * neither crashes nor logs an error.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startEmbeddedSystemProcess, type EmbeddedSystemProcess } from '@chatmesh/testing';
import { DOCUMENTED_CODES } from '../documented-codes.js';
import { validId } from '../frame-arbitraries.js';

const REQUESTS = Number(process.env['CHATMESH_FUZZ_HTTP_REQUESTS'] ?? 3_000);
const SEED = Number(process.env['CHATMESH_FUZZ_SEED'] ?? Date.now() % 1_000_000);
let system: EmbeddedSystemProcess;
let validToken = '';

before(async () => {
  system = await startEmbeddedSystemProcess();
  validToken = await system.token('fz-http', 'fz-http-d1');
});
after(async () => system?.stop());

const segment = fc.oneof(
  validId,
  fc.constantFrom('%ZZ', '%', '%00', '..', '%2e%2e', '%2F', 'a%20b', '~', '*', "'", '"', '<script>', 'x'.repeat(300)),
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
);
const path = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/',
      '/health',
      '/ready',
      '/metrics',
      '/app.js',
      '/favicon.ico',
      '/v1/chats',
      '/v1/devices',
      '/v1/settings',
      '/v1/push/channel',
      '/v1/push/inbox',
      '/v1/dev/token',
      '/v1/ws',
    ),
  },
  { weight: 3, arbitrary: segment.map((s) => `/v1/chats/${s}/messages`) },
  { weight: 2, arbitrary: segment.map((s) => `/v1/devices/${s}`) },
  { weight: 1, arbitrary: fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`) },
);
const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('limit', 'after', 'before', 'from', 'x'),
        fc.oneof(fc.integer().map(String), segment, fc.constantFrom('-1', '1e309', 'NaN', '9007199254740993')),
      ),
      { maxLength: 3 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
);
const auth = fc.constantFrom('none', 'junk', 'valid', 'valid');
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 100 }),
  fc.constantFrom(
    '{"userId":"fz-http","deviceId":"d"}',
    '{"readReceipts":false}',
    '{"provider":"inbox"}',
    '{"provider":"apns","token":"zz","topic":"t","environment":"sandbox"}',
    '{"provider":"web_push","subscription":{"endpoint":"https://x/%ZZ","keys":{"p256dh":"","auth":""}}}',
    '{',
    'x'.repeat(70_000),
  ),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  path,
  query,
  auth,
  body,
});

test(`${REQUESTS} random HTTP requests: never a 500, only documented codes, no crash, no error log`, async () => {
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  const requests = fc.sample(request, { numRuns: REQUESTS, seed: SEED });
  for (const r of requests) {
    const headers: Record<string, string> = {};
    if (r.auth === 'valid') headers['authorization'] = `Bearer ${validToken}`;
    if (r.auth === 'junk') headers['authorization'] = 'Bearer eyJhbGciOiJub25lIn0.e30.';
    const init: RequestInit = { method: r.method, headers, signal: AbortSignal.timeout(10_000) };
    if (r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD') init.body = r.body;
    const what = `${r.method} ${r.path}${r.query}`;
    let response: Response;
    try {
      response = await fetch(`${system.gatewayUrl}${r.path}${r.query}`, init);
    } catch (error) {
      // A server may close a connection it refuses (an oversized body); it must not stop answering.
      if (system.exitCode() !== undefined) problems.push(`${what}: the system exited`);
      statuses.set(0, (statuses.get(0) ?? 0) + 1);
      void error;
      continue;
    }
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const text = await response.text();
    if (response.status >= 500) problems.push(`${what}: ${response.status} ${text.slice(0, 120)}`);
    if (
      r.method !== 'HEAD' &&
      response.status >= 400 &&
      (response.headers.get('content-type') ?? '').includes('json')
    ) {
      let code: unknown;
      try {
        code = (JSON.parse(text) as { code?: unknown }).code;
      } catch {
        problems.push(`${what}: a JSON error answer that is not JSON`);
      }
      if (typeof code !== 'string' || !DOCUMENTED_CODES.has(code)) problems.push(`${what}: code ${String(code)}`);
    }
  }
  const health = await fetch(`${system.opsUrl}/health`);
  assert.equal(health.status, 200);
  const report = `seed ${SEED}, statuses ${JSON.stringify(Object.fromEntries(statuses))}, log ${system.logFile}`;
  process.stdout.write(`# fuzz http: ${report}\n`);
  assert.deepEqual([...new Set(problems)].slice(0, 10), [], report);
  assert.deepEqual((await system.logLinesAtLeast('error')).slice(0, 5), [], `error lines in the log (${report})`);
});
