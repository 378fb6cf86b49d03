import { defineCodes } from './types.js';

/** Codes of @chatmesh/load-tests: the benchmarks under `load-tests/`. */
export const BENCH_CODES = defineCodes({
  CM_ERR_BENCH_INVALID_OPTIONS: {
    message: 'A benchmark was started with an unknown, missing or out-of-range option.',
    retriable: false,
    fix: 'Read the listed problem and the usage line the benchmark prints (`--help`); sizes and limits are positive integers.',
  },
  CM_ERR_BENCH_TIMEOUT: {
    message: 'A benchmark phase (setup, sends, fan-out drain, a service start) did not finish within its time limit.',
    retriable: true,
    fix: 'Raise the phase limit (`--max-duration-s`, `--ack-timeout-ms`, `--ready-timeout-s`), lower `--messages`, or check the service logs the benchmark names.',
  },
  CM_ERR_BENCH_SETUP_FAILED: {
    message:
      'The benchmark could not prepare its run: a chat was refused, a service exited, or the stack is in use by other consumers.',
    retriable: false,
    fix: 'Read the cause and the service log named in the message; in stack mode make sure no other ingest or fan-out process is running against the same Kafka.',
  },
});
