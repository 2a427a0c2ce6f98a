// A bound on how many of some calls run at once: the rest wait their turn, first come first
// served. A call that finds a place free starts at once, in the same tick (nothing is awaited
// before it), so a bound that is not reached costs nothing.

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`Semaphore: limit ${limit} is not a whole number ≥ 1`);
  }

  /** Calls running now. */
  get running(): number {
    return this.active;
  }

  /** Runs `fn` once fewer than `limit` calls run; its place is freed when it settles, either way. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed the place of one that ended
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
