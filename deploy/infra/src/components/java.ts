import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { InfraError, type InfraErrorComponent } from '../errors.js';

/** The `java` binary: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else the one on PATH. */
export function javaBinary(env: Readonly<Record<string, string | undefined>>): string {
  return env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * Runs a short-lived JVM (a tool such as Kafka's StorageTool) to completion.
 * @throws InfraError CM_ERR_INFRA_TOOL_MISSING without java; CM_ERR_INFRA_START_FAILED when it exits non-zero.
 */
export function runJavaTool(
  component: InfraErrorComponent,
  env: Readonly<Record<string, string | undefined>>,
  args: readonly string[],
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(javaBinary(env), [...args], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new InfraError(
              'CM_ERR_INFRA_TOOL_MISSING',
              `java is not installed (looked for ${javaBinary(env)}); Kafka and Cassandra need a JDK 17`,
              {
                component,
                cause: error,
              },
            )
          : error,
      ),
    );
    child.once('close', (code) => {
      if (code === 0) resolvePromise(output);
      else
        reject(
          new InfraError(
            'CM_ERR_INFRA_START_FAILED',
            `java ${args.slice(-6).join(' ')} exited with ${code}:\n${output.slice(-4000)}`,
            {
              component,
            },
          ),
        );
    });
  });
}

/** Checks that java runs at all, so a missing JDK fails before any download. */
export async function checkJava(
  component: InfraErrorComponent,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  await runJavaTool(component, env, ['-version']);
}
