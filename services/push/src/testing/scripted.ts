/** One scripted answer of a stand-in: the HTTP status, an optional reason / error body and Retry-After. */
export interface ScriptedAnswer {
  readonly status: number;
  /** APNs `reason`, FCM `errorCode`. */
  readonly reason?: string;
  readonly retryAfter?: string;
}

/** Per-target queues of scripted answers; a target with none left gets the default (success). */
export class AnswerScript {
  readonly #queues = new Map<string, ScriptedAnswer[]>();
  readonly #always = new Map<string, ScriptedAnswer>();

  /** Answers the next requests for `target` with these, in order. */
  next(target: string, ...answers: ScriptedAnswer[]): void {
    this.#queues.set(target, [...(this.#queues.get(target) ?? []), ...answers]);
  }

  /** Answers every request for `target` with this (after any queued ones). */
  always(target: string, answer: ScriptedAnswer): void {
    this.#always.set(target, answer);
  }

  take(target: string): ScriptedAnswer | null {
    const queue = this.#queues.get(target);
    if (queue && queue.length > 0) return queue.shift()!;
    return this.#always.get(target) ?? null;
  }
}
