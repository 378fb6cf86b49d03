/** One row of the error-code table: what `docs/errors.md` prints as "What it means | How to fix". */
export interface ErrorCodeEntry {
  /** Default message: what happened, in one sentence. */
  readonly message: string;
  /** Whether retrying the same operation unchanged may succeed. */
  readonly retriable: boolean;
  /** How to fix it, for the person reading the log or the docs. */
  readonly fix: string;
}

/**
 * Declares one area's codes with their literal keys preserved.
 * Codes are `CM_ERR_<AREA>_<WHAT>`; a retired code is never reused (keep it, mark it retired in `fix`).
 */
export function defineCodes<const T extends Record<string, ErrorCodeEntry>>(codes: T): T {
  return codes;
}
