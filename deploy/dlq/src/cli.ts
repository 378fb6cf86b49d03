/**
 * `npm run dlq -- <command>`: inspects the dead-letter twins of a chatmesh stack and replays their
 * records. See docs/operations.md and `npm run dlq -- --help`.
 */
import { createInterface } from 'node:readline/promises';
import { runDlqCli } from './program.js';

async function confirmOnTerminal(question: string): Promise<boolean> {
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await readline.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    readline.close();
  }
}

process.exitCode = await runDlqCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  ...(process.stdin.isTTY ? { confirm: confirmOnTerminal } : {}),
});
