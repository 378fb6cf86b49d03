import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import uWS from 'uWebSockets.js';
import {
  assertNativeUws,
  currentUwsRuntime,
  GatewayError,
  loadUws,
  nativeUwsBinaryPath,
  selectUwsBuild,
  type UwsRuntime,
} from '../index.js';

/** A runtime with every build installed under /pkg/<name>, unless `installed` says otherwise. */
function runtime(abi: string, glibc: string | undefined, installed = (_name: string) => true): UwsRuntime {
  return {
    platform: 'linux',
    arch: 'x64',
    nodeVersion: `v-abi-${abi}`,
    abi,
    glibc,
    resolve: (build) => (installed(build.name) ? `/pkg/${build.name}/src` : undefined),
  };
}

function refusal(fn: () => unknown): string {
  let message = '';
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof GatewayError);
    assert.equal(error.code, 'CM_ERR_GATEWAY_UWS_UNSUPPORTED');
    message = error.message;
    return true;
  });
  return message;
}

test('the gateway loads the build chosen for this runtime and runs its native binary (here Node 20: 20.30)', () => {
  const { uWS: loaded, choice } = loadUws();
  assert.equal(choice.build.name, selectUwsBuild(currentUwsRuntime()).build.name);
  assert.equal(nativeUwsBinaryPath(), choice.binaryPath);
  assertNativeUws(loaded, choice.binaryPath);
  if (process.versions.modules === '115') {
    assert.equal(choice.build.name, 'uWebSockets.js');
    assert.equal(loaded, uWS);
    assert.match(choice.binaryPath, /uWebSockets\.js\/binaries\/uws_linux_x64_115\.node$/);
  }
});

test('Node 20 takes the 20.30 build on any glibc from 2.27, also where the newer build would load', () => {
  for (const glibc of ['2.27', '2.36', '2.41']) {
    const choice = selectUwsBuild(runtime('115', glibc));
    assert.equal(choice.build.name, 'uWebSockets.js', glibc);
    assert.equal(choice.binaryPath, '/pkg/uWebSockets.js/binaries/uws_linux_x64_115.node');
  }
});

test('Node 22, 24 and 25 take @btc-vision/uwebsockets.js on glibc 2.38 and later', () => {
  for (const [abi, glibc] of [
    ['127', '2.38'],
    ['137', '2.41'],
    ['141', '3.0'],
  ] as const) {
    const choice = selectUwsBuild(runtime(abi, glibc));
    assert.equal(choice.build.name, '@btc-vision/uwebsockets.js', abi);
    assert.equal(choice.binaryPath, `/pkg/@btc-vision/uwebsockets.js/src/uws_linux_x64_${abi}.node`);
  }
});

test('Node 20 on glibc 2.38 without the 20.30 build installed falls to the newer build', () => {
  const choice = selectUwsBuild(runtime('115', '2.38', (name) => name !== 'uWebSockets.js'));
  assert.equal(choice.build.name, '@btc-vision/uwebsockets.js');
});

test('Node 24 on glibc 2.36 (Debian 12) is refused, naming each build, the ABI, the glibc and what to install', () => {
  const message = refusal(() => selectUwsBuild(runtime('137', '2.36')));
  assert.match(message, /ABI 137/);
  assert.match(message, /glibc 2\.36/);
  assert.match(message, /@trufflesuite\/uws-js-unofficial@20\.30\.0-unofficial\.0: no binary for ABI 137/);
  assert.match(message, /@btc-vision\/uwebsockets\.js@20\.57\.0: needs glibc 2\.38, found 2\.36/);
  assert.match(message, /node:24-trixie-slim/);
});

test('a newer glibc major, a missing optional build, musl and an unknown ABI are each refused for their reason', () => {
  assert.equal(selectUwsBuild(runtime('137', '3.1')).build.name, '@btc-vision/uwebsockets.js');
  assert.match(
    refusal(() => selectUwsBuild(runtime('137', '2.41', (name) => name === 'uWebSockets.js'))),
    /@btc-vision\/uwebsockets\.js@20\.57\.0: not installed/,
  );
  assert.match(
    refusal(() => selectUwsBuild(runtime('137', undefined))),
    /found none \(musl\?\)/,
  );
  assert.match(
    refusal(() => selectUwsBuild(runtime('147', '2.41'))),
    /ABI 147.*ships ABIs 115, 127, 137, 141/,
  );
});

test('off Linux glibc does not matter', () => {
  const choice = selectUwsBuild({ ...runtime('137', undefined), platform: 'darwin', arch: 'arm64' });
  assert.equal(choice.build.name, '@btc-vision/uwebsockets.js');
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
