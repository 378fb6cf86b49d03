/**
 * At most `permits` tasks at once; the rest wait in arrival order. The gateway bounds its store reads with
 * it: a burst of sockets (a reconnect storm, a big group's creation) would otherwise put more requests in
 * flight than the Cassandra driver accepts, and each refused read closes a socket.
 */
export class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly permits: number) {}

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.permits) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
