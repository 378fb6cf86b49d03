import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { BenchError } from '../src/index.js';

/** How to get k6 when it is missing (the benchmark never installs it itself). */
export const K6_INSTALL_HINT =
  'install k6 (a single Go binary, not an npm package): `go install go.k6.io/k6@v1.8.1` (puts it in ~/go/bin, ' +
  'several minutes on 2 cores) or a release from https://github.com/grafana/k6/releases; then put it on PATH, ' +
  'set K6_BIN, or pass --k6 /path/to/k6';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The k6 binary to run: `explicit` (--k6), else `K6_BIN`, else `k6` on PATH, else `~/go/bin/k6` (where
 * `go install` puts it).
 * @throws BenchError `CM_ERR_BENCH_SETUP_FAILED` (context `tool: 'k6'`) when none is executable
 */
export function findK6(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  const candidates: string[] = [];
  if (explicit !== undefined) candidates.push(explicit);
  else {
    if (env['K6_BIN']) candidates.push(env['K6_BIN']);
    for (const dir of (env['PATH'] ?? '').split(delimiter)) if (dir !== '') candidates.push(join(dir, 'k6'));
    candidates.push(join(env['GOPATH'] || join(home, 'go'), 'bin', 'k6'));
  }
  const found = candidates.find(isExecutable);
  if (found === undefined) {
    throw new BenchError(
      'CM_ERR_BENCH_SETUP_FAILED',
      `k6 not found (looked at ${candidates.join(', ')}): ${K6_INSTALL_HINT}`,
      {
        context: { phase: 'setup', tool: 'k6', looked: candidates },
      },
    );
  }
  return found;
}
