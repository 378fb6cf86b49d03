import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import uWS from 'uWebSockets.js';
import { assertNativeUws, GatewayError, nativeUwsBinaryPath } from '../index.js';

test('the native uWebSockets.js binary is in use here', () => {
  assert.match(nativeUwsBinaryPath(), /uws_linux_x64_115\.node$|uws_\w+_\w+_\d+\.node$/);
  assertNativeUws(uWS);
});

test('anything else is refused with CM_ERR_GATEWAY_NATIVE_UWS_MISSING', () => {
  assert.throws(
    () => assertNativeUws({ App: () => ({}) }),
    (error: unknown) => error instanceof GatewayError && error.code === 'CM_ERR_GATEWAY_NATIVE_UWS_MISSING',
  );
});

test('a process on the JavaScript fallback (UWS_USE_FALLBACK=1) refuses to start the gateway', () => {
  const index = fileURLToPath(new URL('../index.ts', import.meta.url));
  const script = `
    const { startGateway } = await import(${JSON.stringify(index)});
    try { await startGateway({}); console.log('STARTED'); }
    catch (error) { console.log('REFUSED ' + error.code); }
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, UWS_USE_FALLBACK: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.match(result.stdout, /REFUSED CM_ERR_GATEWAY_NATIVE_UWS_MISSING/, result.stderr);
});
