import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type uWSTypes from 'uWebSockets.js';
import { GatewayError } from './errors.js';

/** The uWebSockets.js API the gateway uses (the types of the `uWebSockets.js` dependency). */
export type UwsModule = typeof uWSTypes;

/**
 * One published uWebSockets.js build: which Node ABIs it ships binaries for and the glibc its Linux
 * binaries need (the highest `GLIBC_x.y` symbol version they reference, read with `objdump -T`).
 */
export interface UwsBuild {
  /** The name the gateway requires it by (`uWebSockets.js` is an npm alias). */
  readonly name: string;
  /** What npm installs, for the refusal message. */
  readonly published: string;
  /** `process.versions.modules` values it has binaries for. */
  readonly abis: readonly string[];
  readonly minGlibc: string;
  /** Where its binaries lie, relative to the directory of its package entry (`require.resolve`). */
  readonly binaryDir: string;
  /**
   * Whether `res.cork(() => res.upgrade(...))` after an await is safe in it (uNetworking/uWebSockets#1929).
   * False for both: 20.57 was published on 2026-04-03, before that fix was proposed (2026-07-06).
   */
  readonly corkedAsyncUpgradeFixed: boolean;
}

/**
 * The builds in the order they are preferred. The first is the one every gateway test and measurement
 * so far ran on (Node 20, glibc 2.27+); the second is an optional dependency for Node 22 and 24, whose
 * binaries need glibc 2.38 (Debian 13, Ubuntu 24.04), so it is taken only when the first does not fit.
 */
export const UWS_BUILDS: readonly UwsBuild[] = [
  {
    name: 'uWebSockets.js',
    published: '@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0',
    abis: ['93', '108', '115'],
    minGlibc: '2.27',
    binaryDir: '../binaries',
    corkedAsyncUpgradeFixed: false,
  },
  {
    name: '@btc-vision/uwebsockets.js',
    published: '@btc-vision/uwebsockets.js@20.57.0',
    abis: ['115', '127', '137', '141'],
    minGlibc: '2.38',
    binaryDir: '.',
    corkedAsyncUpgradeFixed: false,
  },
];

/** What the choice depends on; `process` by default, injected by the tests. */
export interface UwsRuntime {
  readonly platform: string;
  readonly arch: string;
  readonly nodeVersion: string;
  /** `process.versions.modules`. */
  readonly abi: string;
  /** glibc's version at run time; undefined off Linux or on musl. */
  readonly glibc: string | undefined;
  /** The directory of the build's package entry, or undefined when it is not installed. */
  readonly resolve: (build: UwsBuild) => string | undefined;
}

export interface UwsChoice {
  readonly build: UwsBuild;
  readonly binaryPath: string;
}

const require = createRequire(import.meta.url);

export function currentUwsRuntime(): UwsRuntime {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return {
    platform: process.platform,
    arch: process.arch,
    nodeVersion: process.version,
    abi: process.versions.modules,
    glibc: report.header?.glibcVersionRuntime,
    resolve: (build) => {
      try {
        // The package entry, not package.json: @btc-vision/uwebsockets.js does not export its package.json.
        return dirname(require.resolve(build.name));
      } catch {
        return undefined;
      }
    },
  };
}

function glibcAtLeast(found: string, needed: string): boolean {
  const [fMajor = 0, fMinor = 0] = found.split('.').map(Number);
  const [nMajor = 0, nMinor = 0] = needed.split('.').map(Number);
  return fMajor !== nMajor ? fMajor > nMajor : fMinor >= nMinor;
}

function describeRuntime(runtime: UwsRuntime): string {
  return `Node ${runtime.nodeVersion} (ABI ${runtime.abi}) on ${runtime.platform}-${runtime.arch}, glibc ${runtime.glibc ?? 'none found'}`;
}

const INSTALL_HINT =
  'Node 20 runs uWebSockets.js (@trufflesuite/uws-js-unofficial 20.30, glibc 2.27+); Node 22 or 24 needs @btc-vision/uwebsockets.js@20.57.0 installed (`npm install -w @chatmesh/delivery-gateway`, it is an optional dependency) on glibc 2.38+ (Debian 13 trixie, Ubuntu 24.04, the node:24-trixie-slim image)';

/**
 * The first build that is installed, ships a binary for this platform and ABI and whose binaries this
 * glibc can load. It does not load anything, so it can be tested for any Node and glibc.
 * @throws GatewayError `CM_ERR_GATEWAY_UWS_UNSUPPORTED` naming each build and why it does not fit
 */
export function selectUwsBuild(runtime: UwsRuntime, builds: readonly UwsBuild[] = UWS_BUILDS): UwsChoice {
  const reasons: string[] = [];
  for (const build of builds) {
    const binary = `uws_${runtime.platform}_${runtime.arch}_${runtime.abi}.node`;
    if (!build.abis.includes(runtime.abi)) {
      reasons.push(`${build.published}: no binary for ABI ${runtime.abi} (it ships ABIs ${build.abis.join(', ')})`);
      continue;
    }
    if (runtime.platform === 'linux' && (runtime.glibc === undefined || !glibcAtLeast(runtime.glibc, build.minGlibc))) {
      reasons.push(`${build.published}: needs glibc ${build.minGlibc}, found ${runtime.glibc ?? 'none (musl?)'}`);
      continue;
    }
    const dir = runtime.resolve(build);
    if (dir === undefined) {
      reasons.push(`${build.published}: not installed`);
      continue;
    }
    return { build, binaryPath: join(dir, build.binaryDir, binary) };
  }
  throw new GatewayError(
    'CM_ERR_GATEWAY_UWS_UNSUPPORTED',
    `no uWebSockets.js build fits ${describeRuntime(runtime)}. Tried ${reasons.join('; ')}. ${INSTALL_HINT}`,
  );
}

let loaded: { readonly uWS: UwsModule; readonly choice: UwsChoice } | undefined;

/**
 * Loads the chosen build once per process and checks it runs its native binary.
 * @throws GatewayError `CM_ERR_GATEWAY_UWS_UNSUPPORTED` when no build fits or the chosen one fails to load
 * (the loader's own error, e.g. a missing `GLIBC_x.y`, is in the message)
 * @throws GatewayError `CM_ERR_GATEWAY_NATIVE_UWS_MISSING` when it fell back to its JavaScript version
 */
export function loadUws(runtime: UwsRuntime = currentUwsRuntime()): {
  readonly uWS: UwsModule;
  readonly choice: UwsChoice;
} {
  if (loaded !== undefined) return loaded;
  const choice = selectUwsBuild(runtime);
  let uWS: UwsModule;
  try {
    uWS = require(choice.build.name) as UwsModule;
  } catch (error) {
    throw new GatewayError(
      'CM_ERR_GATEWAY_UWS_UNSUPPORTED',
      `${choice.build.published} was chosen for ${describeRuntime(runtime)} but failed to load: ${error instanceof Error ? error.message : String(error)}. ${INSTALL_HINT}`,
    );
  }
  assertNativeUws(uWS, choice.binaryPath);
  loaded = { uWS, choice };
  return loaded;
}

/** The binary the chosen build loads here (throws as `selectUwsBuild` does). */
export function nativeUwsBinaryPath(): string {
  return selectUwsBuild(currentUwsRuntime()).binaryPath;
}

/**
 * Refuses to run on a fallback: the module must be the exports of the native binary, which Node caches
 * under the binary's path once loaded. The Node 20 build's loader (`src/uws.js`) silently returns a
 * pure-JS fallback when its binary fails to load (or with `UWS_USE_FALLBACK`), printing only a warning.
 * @throws GatewayError `CM_ERR_GATEWAY_NATIVE_UWS_MISSING` when `loaded` is anything else
 */
export function assertNativeUws(loadedModule: unknown, binaryPath: string = nativeUwsBinaryPath()): void {
  const cached = require.cache[binaryPath];
  if (cached === undefined || cached.exports !== loadedModule) {
    throw new GatewayError(
      'CM_ERR_GATEWAY_NATIVE_UWS_MISSING',
      `uWebSockets.js is not running its native binary (${binaryPath}); refusing to run on the slow JavaScript fallback (Node ${process.version}, ABI ${process.versions.modules}, UWS_USE_FALLBACK=${process.env['UWS_USE_FALLBACK'] ?? 'unset'})`,
    );
  }
}
