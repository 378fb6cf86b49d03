import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GatewayError } from './errors.js';

/**
 * The file uWebSockets.js loads on this platform and Node ABI. Its loader (`src/uws.js`) requires
 * `binaries/uws_<platform>_<arch>_<modules>.node` and, if that throws, silently returns a pure-JS
 * fallback (`dist/index`), printing only a warning (docs/infrastructure.md, "uWebSockets.js").
 */
export function nativeUwsBinaryPath(): string {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('uWebSockets.js/package.json'));
  return join(root, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
}

/**
 * Refuses to run on the fallback: the module the gateway imported must be the exports of the native
 * binary, which Node caches under the binary's path once loaded.
 * @throws GatewayError `CM_ERR_GATEWAY_NATIVE_UWS_MISSING` when `loaded` is anything else
 */
export function assertNativeUws(loaded: unknown, binaryPath: string = nativeUwsBinaryPath()): void {
  const require = createRequire(import.meta.url);
  const cached = require.cache[binaryPath];
  if (cached === undefined || cached.exports !== loaded) {
    throw new GatewayError(
      'CM_ERR_GATEWAY_NATIVE_UWS_MISSING',
      `uWebSockets.js is not running its native binary (${binaryPath}); refusing to run on the slow JavaScript fallback (Node ${process.version}, ABI ${process.versions.modules}, UWS_USE_FALLBACK=${process.env['UWS_USE_FALLBACK'] ?? 'unset'})`,
    );
  }
}
