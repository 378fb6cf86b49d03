import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { InfraError, type InfraErrorComponent } from '../errors.js';

/** Marker written last into an assembled directory: its presence means the copy completed. */
const COMPLETE_MARKER = '.complete';

/** Options of {@link assembleJars}. */
export interface AssembleJarsOptions {
  component: InfraErrorComponent;
  /** The pom.xml (packaging pom) whose runtime dependencies are the server. */
  pomFile: string;
  /** Cache root; the result goes in `<cacheDir>/<name>-<pom hash>/`. */
  cacheDir: string;
  name: string;
  log: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Returns a directory holding every runtime jar of a pom, assembling it with Maven on the first call.
 * The directory name carries the pom's hash, so editing the pom assembles a fresh one; Maven's own
 * ~/.m2 cache makes a re-assembly after a cache wipe a local copy. The copy goes to a temporary
 * directory renamed into place, so concurrent callers and interrupted runs never see half a directory.
 * @throws InfraError CM_ERR_INFRA_TOOL_MISSING without `mvn`; CM_ERR_INFRA_DOWNLOAD_FAILED when Maven fails.
 */
export async function assembleJars(options: AssembleJarsOptions): Promise<string> {
  const pomHash = createHash('sha256').update(readFileSync(options.pomFile)).digest('hex').slice(0, 12);
  const target = join(options.cacheDir, `${options.name}-${pomHash}`);
  if (existsSync(join(target, COMPLETE_MARKER))) return target;

  mkdirSync(options.cacheDir, { recursive: true });
  const temporary = `${target}.tmp-${process.pid}-${Date.now()}`;
  options.log(`${options.component}: resolving jars with Maven into ${target}`);
  const startedMs = Date.now();
  const { code, output } = await runMaven(
    [
      '-q',
      '-B',
      '-f',
      options.pomFile,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${temporary}`,
      '-DincludeScope=runtime',
    ],
    options,
  );
  if (code !== 0) {
    rmSync(temporary, { recursive: true, force: true });
    throw new InfraError(
      'CM_ERR_INFRA_DOWNLOAD_FAILED',
      `Maven could not resolve ${options.pomFile} (exit ${code}):\n${output.slice(-4000)}`,
      { component: options.component, context: { pomFile: options.pomFile } },
    );
  }
  const jarCount = readdirSync(temporary).filter((name) => name.endsWith('.jar')).length;
  writeFileSync(join(temporary, COMPLETE_MARKER), `${new Date().toISOString()} ${jarCount} jars\n`);
  try {
    renameSync(temporary, target);
  } catch (error) {
    // Another process finished first; its directory is as good as ours.
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(join(target, COMPLETE_MARKER))) throw error;
  }
  options.log(`${options.component}: ${jarCount} jars ready in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
  return target;
}

function runMaven(args: string[], options: AssembleJarsOptions): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('mvn', args, { env: options.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new InfraError(
              'CM_ERR_INFRA_TOOL_MISSING',
              'Maven (`mvn`) is not installed; it fetches the Kafka and Cassandra jars',
              {
                component: options.component,
                cause: error,
              },
            )
          : error,
      );
    });
    child.once('close', (code) => resolvePromise({ code, output }));
  });
}
