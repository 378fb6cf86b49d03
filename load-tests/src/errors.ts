import { ChatmeshError, type ErrorCode } from '@chatmesh/errors';

/** Context of a {@link BenchError}. */
export interface BenchErrorContext {
  /** The benchmark phase that failed (`options`, `setup`, `sends`, `drain`, `stack`). */
  readonly phase?: string;
  readonly [key: string]: unknown;
}

/** What a benchmark throws: a bad option, a phase over its time limit, or a run it could not prepare. */
export class BenchError extends ChatmeshError {
  override readonly name = 'BenchError';

  constructor(
    code: Extract<ErrorCode, `CM_ERR_BENCH_${string}`>,
    message: string,
    options: { cause?: unknown; context?: BenchErrorContext } = {},
  ) {
    super(code, message, options);
  }
}
