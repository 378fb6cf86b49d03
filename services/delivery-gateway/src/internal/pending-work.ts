/** Promises still running (background writes, joins, closes), so that `stop()` can wait for them to settle. */
export class PendingWork {
  private readonly running = new Set<Promise<unknown>>();

  /** Remembers `promise` until it settles; returns it. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.running.add(promise);
    void promise.then(
      () => this.running.delete(promise),
      () => this.running.delete(promise),
    );
    return promise;
  }

  /** Resolves once everything tracked so far has settled (failures included). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
